import { sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './handle';

/** Delete a table's rows that match `where` in batches, so one run never holds many row locks for long. */
export async function deleteInBatches(db: Db, table: PgTable, where: SQL, batchSize = 5_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await db.execute(sql`delete from ${table} where ctid in (select ctid from ${table} where ${where} limit ${batchSize})`);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return deleted;
  }
}
