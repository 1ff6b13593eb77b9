import { Pool, neonConfig } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-serverless';
import type { Db } from '../handle';
import type { OpenPool } from './types';

/**
 * @neondatabase/serverless: node-postgres over a WebSocket to Neon's proxy, through Node 24's global WebSocket
 * rather than the `ws` package (48 KiB of every bundle).
 */
export const openNeon: OpenPool = (poolConfig, cfg) => {
  neonConfig.webSocketConstructor = globalThis.WebSocket;
  if (cfg.NEON_WS_PROXY !== undefined) {
    // A plain local Postgres behind a WebSocket-to-TCP proxy: no TLS anywhere.
    const proxy = cfg.NEON_WS_PROXY;
    neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool(poolConfig);
  return {
    // The Neon driver embeds node-postgres: its pool and clients have pg's shape.
    pool: pool as unknown as import('pg').Pool,
    db: drizzle({ client: pool }) as unknown as Db,
    onClient: (client) => drizzle({ client: client as never }) as unknown as Db,
  };
};
