import net from 'node:net';

/** A TCP hop between the app and Postgres on which tests inject network faults. */
export interface TcpHop {
  port: number;
  /** `url` with its port replaced by the hop's. */
  through: (url: string) => string;
  /** When each connection reached the hop (performance.now()). */
  arrivals: number[];
  /** Drop every connection and refuse new ones for `downMs`, as a restarting server does. */
  restart: (downMs: number) => Promise<void>;
  /** The connections open now go silent for good in both directions (a dead peer, a NAT that forgot them); new ones work. */
  stall: () => void;
  /** While on, each new connection is closed as soon as it arrives. */
  refuse: (on: boolean) => void;
  close: () => Promise<void>;
}

export async function startTcpHop(target: { host: string; port: number }): Promise<TcpHop> {
  const sockets = new Set<net.Socket>();
  const silent = new WeakSet<net.Socket>();
  const arrivals: number[] = [];
  let refusing = false;
  const server = net.createServer((client) => {
    arrivals.push(performance.now());
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket)).on('error', () => socket.destroy());
    }
    const forward = (from: net.Socket, to: net.Socket) => from.on('data', (chunk) => silent.has(from) || to.write(chunk));
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    through: (url) => {
      const hopped = new URL(url);
      hopped.port = String(port);
      return hopped.toString();
    },
    arrivals,
    async restart(downMs) {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await listen(port);
    },
    stall() {
      for (const socket of sockets) silent.add(socket);
    },
    refuse(on) {
      refusing = on;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
