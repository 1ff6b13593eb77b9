import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * Unqualified column names, as SET lists, INSERT column lists and RETURNING of one table need in hand-written
 * statements (Drizzle renders `"table"."column"` inside `sql` templates).
 */
export const columnNames = (...columns: AnyPgColumn[]): SQL =>
  sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);
