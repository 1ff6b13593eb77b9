/**
 * `npm run bench:coldstart [runs] [function ...]`: what a cold start costs before the first request.
 *
 * 1. Module init: for each packaged function, a fresh Node process (this Node, the Lambda runtime's major) that
 *    imports its bundle, against one that imports a hello-world handler: `runs` pairs (default 10) in alternating
 *    order, wall and CPU time from process start to the end of the import, medians and the median of the pairs'
 *    ratios. Target for HTTP functions: a CPU ratio of at most 1.3x.
 *    DATABASE_URL points at a listener that counts connections: module init must open none.
 * 2. The first query: round trips from a cold pool to the first result, counted by a proxy in front of the server
 *    (pg: Postgres; neon: the WebSocket proxy) as the client's flights that wait on an answer.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startWsProxy } from '../tests/setup/ws-proxy';
import { benchDatabase } from './bench-harness';
import { lambdaFunctions, packageFunctions, packagedDriver } from './lambda-functions';

if (process.argv[2] === '--first-query') {
  const { database } = await import('../src/db/client');
  const { sql } = await import('drizzle-orm');
  await database().execute(sql`select 1`);
  // Exit without closing the pool: a Terminate message would count as one more flight, though nothing waits on it.
  process.exit(0);
}

const INIT_TARGET = 1.3;
const execFileAsync = promisify(execFile);
const [runsArg, ...only] = process.argv.slice(2);
const runs = Number(runsArg ?? 10);
if (!Number.isInteger(runs) || runs < 1) throw new Error('usage: npm run bench:coldstart [runs] [function ...]');

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A TCP listener in front of `target` (or none: count and refuse) that counts connections and client flights. */
async function countingProxy(target?: { host: string; port: number }) {
  const stats = { connections: 0, flights: 0 };
  const server = net.createServer((client) => {
    stats.connections++;
    if (!target) return client.destroy();
    const upstream = net.connect(target);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // A new flight starts whenever the client writes after the server last did: one round trip it waits on.
    let clientSpokeLast = false;
    client.on('data', (chunk) => {
      if (!clientSpokeLast) stats.flights++;
      clientSpokeLast = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      clientSpokeLast = false;
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  return { port, stats, close: () => new Promise<void>((done) => server.close(() => done())) };
}

// 1. Module init.
const driver = packagedDriver();
packageFunctions(driver);
const functions = lambdaFunctions().filter((fn) => only.length === 0 || only.includes(fn.name));
const helloDir = mkdtempSync(join(tmpdir(), 'lockstep-hello-'));
writeFileSync(join(helloDir, 'hello.mjs'), "export const handler = async () => ({ statusCode: 200, body: 'hello' });\n");

const listener = await countingProxy();
const env = {
  PATH: process.env.PATH,
  DATABASE_URL: `postgresql://lockstep:bench@127.0.0.1:${listener.port}/lockstep`,
  DATABASE_DRIVER: driver,
  DATABASE_POOL_MAX: '1',
  AUTH_JWT_SECRET: 'lockstep-coldstart-secret-0123456789abcdef',
  IMPORT_SOURCE: 's3://lockstep-coldstart/incoming/',
  IMPORT_OWNER_SUB: 'coldstart',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};
/**
 * One fresh process importing `file`, as measured by the process itself: milliseconds from its start to the end of
 * the import, and the CPU it used (all threads). On a shared machine the CPU figure is the steadier one: wall time
 * also counts the waits for a free core.
 */
function coldImport(file: string): { wallMs: number; cpuMs: number } {
  const script = `await import(${JSON.stringify(pathToFileURL(file).href)});
const cpu = process.cpuUsage();
console.log(JSON.stringify({ wallMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`importing ${file} failed (exit ${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '');
}

const hello = join(helloDir, 'hello.mjs');
coldImport(hello); // warm the file cache
const rows = functions.map((fn) => {
  const bundle = resolve('.esbuild/.build', `${fn.file}.mjs`);
  coldImport(bundle);
  const runsOf = { hello: [] as { wallMs: number; cpuMs: number }[], bundle: [] as { wallMs: number; cpuMs: number }[] };
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so a drift in the machine's speed hits both sides alike.
    const helloFirst = i % 2 === 0;
    const first = coldImport(helloFirst ? hello : bundle);
    const second = coldImport(helloFirst ? bundle : hello);
    runsOf.hello.push(helloFirst ? first : second);
    runsOf.bundle.push(helloFirst ? second : first);
  }
  const pairRatios = (key: 'wallMs' | 'cpuMs') => runsOf.bundle.map((b, i) => b[key] / runsOf.hello[i]![key]);
  const cpuRatios = pairRatios('cpuMs');
  const cpuRatio = median(cpuRatios);
  const med = (side: 'hello' | 'bundle', key: 'wallMs' | 'cpuMs') => +median(runsOf[side].map((r) => r[key])).toFixed(1);
  return {
    function: fn.name,
    kind: fn.http ? 'http' : 'scheduled',
    'hello wall ms': med('hello', 'wallMs'),
    'bundle wall ms': med('bundle', 'wallMs'),
    'wall ratio': +median(pairRatios('wallMs')).toFixed(2),
    'hello cpu ms': med('hello', 'cpuMs'),
    'bundle cpu ms': med('bundle', 'cpuMs'),
    'cpu ratio': +cpuRatio.toFixed(2),
    'cpu ratio min..max': `${Math.min(...cpuRatios).toFixed(2)}..${Math.max(...cpuRatios).toFixed(2)}`,
    target: fn.http ? (cpuRatio <= INIT_TARGET ? 'ok' : 'OVER') : '-',
  };
});
await listener.close();
console.log(
  `\nmodule init, ${process.version}, driver ${driver}: ${runs} paired runs per function (process start to end of import; ` +
    `medians, ratios are medians of the pairs' ratios; the target applies to the cpu ratio)`,
);
console.table(rows);
const http = rows.filter((row) => row.kind === 'http');
console.log(
  `HTTP functions: cpu ratio median ${median(http.map((r) => r['cpu ratio'])).toFixed(2)}, max ${Math.max(...http.map((r) => r['cpu ratio'])).toFixed(2)}; ` +
    `${http.filter((r) => r.target === 'OVER').length} over ${INIT_TARGET}x. Connections opened at module load: ${listener.stats.connections}`,
);

// 2. Round trips of the first query after a cold start, for both drivers: each in a fresh process (this script
// with --first-query), through a counting proxy.
const database = await benchDatabase();
const real = new URL(database.url);
const wsProxy = await startWsProxy();
const trips = [];
for (const name of ['pg', 'neon'] as const) {
  const proxy = await countingProxy(
    name === 'pg' ? { host: real.hostname, port: Number(real.port) } : { host: '127.0.0.1', port: wsProxy.port },
  );
  const url = new URL(database.url);
  if (name === 'pg') url.port = String(proxy.port);
  // Asynchronously: the proxy runs in this process.
  await execFileAsync(process.execPath, ['--import', 'tsx', 'scripts/bench-coldstart.ts', '--first-query'], {
    env: { ...process.env, DATABASE_URL: url.toString(), DATABASE_DRIVER: name, NEON_WS_PROXY: `127.0.0.1:${proxy.port}` },
  });
  await proxy.close();
  // Production adds what loopback has not: TCP's handshake and TLS 1.3 (pg asks for it first with an SSLRequest).
  // At Neon's proxy, pipelineConnect sends the startup and the password in one flight, sparing SCRAM's two.
  const production = name === 'pg' ? 1 + 1 + 1 + proxy.stats.flights : 1 + 1 + proxy.stats.flights - 2;
  trips.push({
    driver: name,
    connections: proxy.stats.connections,
    'flights measured (loopback, SCRAM, no TLS)': proxy.stats.flights,
    'round trips in production': production,
    'production path': name === 'pg' ? 'TCP, SSLRequest, TLS, startup, SCRAM x2, query' : 'TCP, TLS, WebSocket upgrade, startup+password (pipelineConnect), query',
  });
}
await wsProxy.close();
await database.stop();
console.log('\nfirst query after a cold start (select 1 on a new pool)');
console.table(trips);
