import { sql } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { LockstepError } from '../errors';

export interface Health {
  status: 'ok';
  database: 'ok';
}

export async function checkHealth(db: Db): Promise<Health> {
  try {
    await db.execute(sql`select 1`);
  } catch (err) {
    throw new LockstepError('database_unavailable', 'The database is unreachable', { cause: err, retryAfter: 5 });
  }
  return { status: 'ok', database: 'ok' };
}
