import net from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * What Neon's wsproxy does, for tests: each WebSocket `/v2?address=host:port` is piped to a TCP connection to a
 * loopback Postgres, so @neondatabase/serverless runs its production code path against the local server.
 */
export async function startWsProxy(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const open = new Set<{ close: () => void }>();
  server.on('connection', (socket, request) => {
    const address = new URL(request.url ?? '/', 'http://proxy').searchParams.get('address') ?? '';
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    if (!['127.0.0.1', 'localhost'].includes(host) || !port) {
      socket.close(1008, 'only loopback targets');
      return;
    }
    const tcp = net.connect({ host, port });
    tcp.setNoDelay(true);
    const pair = {
      close: () => {
        open.delete(pair);
        tcp.destroy();
        socket.terminate();
      },
    };
    open.add(pair);
    socket.on('message', (data: Buffer) => tcp.write(data));
    tcp.on('data', (chunk) => socket.send(chunk, { binary: true }));
    tcp.on('close', pair.close).on('error', pair.close);
    socket.on('close', pair.close).on('error', pair.close);
  });
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const pair of open) pair.close();
        server.close(() => resolve());
      }),
  };
}
