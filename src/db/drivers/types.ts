import type { PoolConfig } from 'pg';
import type { DatabaseConfig } from '../../config';
import type { Db } from '../handle';

export type DriverName = 'pg' | 'neon';

/** What a driver opens: a pool, Drizzle on the pool, and Drizzle bound to one checked-out client (transactions). */
export interface OpenedPool {
  pool: import('pg').Pool;
  db: Db;
  onClient: (client: import('pg').PoolClient) => Db;
}

export type OpenPool = (poolConfig: PoolConfig, cfg: DatabaseConfig) => OpenedPool;

/** The drivers a build carries, by name. */
export type Drivers = Partial<Record<DriverName, OpenPool>>;
