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
 * 3. The cold request: a fresh process that imports the health function's bundle and answers one GET /health (its
 *    secrets, a new connection, `select 1`), from process start to the answer. Side by side, alternated, `runs`
 *    each: the secrets as plain variables (local, and every deployment before issue 23) against the secrets read
 *    from a local Secrets Manager stand-in that answers after SECRETS_DELAY_MS, as the service across a network.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { fakeAwsEnvironment, startFakeSecretsManager } from '../tests/helpers/fake-secrets-manager';
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
console.log('\nfirst query after a cold start (select 1 on a new pool)');
console.table(trips);

// 3. The cold request, secrets as plain variables against secrets from the Secrets Manager stand-in.
/** GetSecretValue in the function's region: one request on a new HTTPS connection (TCP, TLS 1.3, the call). */
const SECRETS_DELAY_MS = 15;
const secretsService = await startFakeSecretsManager({ delayMs: SECRETS_DELAY_MS });
secretsService.put('lockstep/bench/database-url', database.url);
secretsService.put('lockstep/bench/auth-jwt-secret', env.AUTH_JWT_SECRET);
const coldEnv = { ...env, DATABASE_URL: database.url };
const viaSecretsManager = {
  ...env,
  ...fakeAwsEnvironment(secretsService.endpoint),
  DATABASE_URL: '',
  AUTH_JWT_SECRET: '',
  DATABASE_URL_SECRET_ID: 'lockstep/bench/database-url',
  AUTH_JWT_SECRET_SECRET_ID: 'lockstep/bench/auth-jwt-secret',
};
const healthBundle = resolve('.esbuild/.build/functions/health.mjs');
interface ColdRequest {
  initMs: number;
  answerMs: number;
  /** CPU (all threads) up to the answer: steadier than wall time on a shared machine. */
  cpuMs: number;
}
/** One fresh process: import the bundle, answer GET /health; ms from process start to the import's end and the answer. */
async function coldRequest(processEnv: Record<string, string | undefined>): Promise<ColdRequest> {
  const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(healthBundle).href)});
const initMs = performance.now();
const res = await handler({ version: '2.0', rawPath: '/health', headers: {}, requestContext: { requestId: 'cold', http: { method: 'GET', path: '/health' } } });
if (res.statusCode !== 200) throw new Error('status ' + res.statusCode + ': ' + res.body);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ initMs, answerMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 }));
process.exit(0);`;
  // Asynchronously: the stand-in answers from this process.
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env: processEnv });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '');
}
await coldRequest(coldEnv); // warm the file cache
const cold = { plain: [] as ColdRequest[], secrets: [] as ColdRequest[] };
secretsService.requests.length = 0;
for (let i = 0; i < runs; i++) {
  const order = i % 2 === 0 ? (['plain', 'secrets'] as const) : (['secrets', 'plain'] as const);
  for (const side of order) cold[side].push(await coldRequest(side === 'plain' ? coldEnv : viaSecretsManager));
}
const coldRow = (side: 'plain' | 'secrets', label: string) => ({
  secrets: label,
  'init ms (median)': +median(cold[side].map((r) => r.initMs)).toFixed(1),
  'answer ms (median)': +median(cold[side].map((r) => r.answerMs)).toFixed(1),
  'answer ms min..max': `${Math.min(...cold[side].map((r) => r.answerMs)).toFixed(1)}..${Math.max(...cold[side].map((r) => r.answerMs)).toFixed(1)}`,
  'cpu ms (median)': +median(cold[side].map((r) => r.cpuMs)).toFixed(1),
});
const added = (key: keyof ColdRequest) => (median(cold.secrets.map((r) => r[key])) - median(cold.plain.map((r) => r[key]))).toFixed(1);
const answerRatios = cold.secrets.map((r, i) => r.answerMs / cold.plain[i]!.answerMs);
console.log(
  `\ncold request: GET /health in a fresh process (import, secrets, connect, select 1), ${runs} alternated pairs; ` +
    `the stand-in answers after ${SECRETS_DELAY_MS} ms; ${secretsService.requests.length / runs} GetSecretValue calls per cold start`,
);
console.table([coldRow('plain', 'plain variables (before)'), coldRow('secrets', 'Secrets Manager (after)')]);
console.log(
  `Secrets Manager adds ${added('answerMs')} ms to the median cold answer (${added('cpuMs')} ms of CPU: loading the SDK, ` +
    `signing); ratio of the pairs (median) ${median(answerRatios).toFixed(2)}x`,
);
await secretsService.close();
await database.stop();
