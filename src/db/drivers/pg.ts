import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Db } from '../handle';
import type { OpenPool } from './types';

/** node-postgres over TCP (TLS as the URL's sslmode says). */
export const openPg: OpenPool = (poolConfig) => {
  const pool = new pg.Pool(poolConfig);
  return {
    pool,
    db: drizzle({ client: pool }) as unknown as Db,
    onClient: (client) => drizzle({ client }) as unknown as Db,
  };
};
