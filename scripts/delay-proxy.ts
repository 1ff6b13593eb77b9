/**
 * A TCP proxy that delays every chunk by half a round trip in each direction: the network between a function and
 * its database, on loopback. Run it in its own process (`runDelayProxy`) so its work never competes with what is
 * measured: `tsx scripts/delay-proxy.ts <listenPort> <upstreamPort> <rttMs>`.
 */
import { createServer, connect, type Socket } from 'node:net';

function delayed(from: Socket, to: Socket, oneWayMs: number): void {
  // Equal delays keep chunks in order: timers of one duration fire in the order they were set.
  from.on('data', (chunk) => {
    if (oneWayMs === 0) to.write(chunk);
    else setTimeout(() => to.writable && to.write(chunk), oneWayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), oneWayMs));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), oneWayMs));
}

export function startDelayProxy(listenPort: number, upstreamPort: number, rttMs: number): Promise<() => Promise<void>> {
  const server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
    upstream.setNoDelay(true);
    delayed(client, upstream, rttMs / 2);
    delayed(upstream, client, rttMs / 2);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () =>
      resolve(() => new Promise((done) => server.close(() => done()))),
    );
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [listenPort, upstreamPort, rttMs] = process.argv.slice(2).map(Number);
  await startDelayProxy(listenPort!, upstreamPort!, rttMs!);
  process.send?.('ready');
  console.log(`delay proxy 127.0.0.1:${listenPort} → 127.0.0.1:${upstreamPort}, ${rttMs} ms round trip`);
}
