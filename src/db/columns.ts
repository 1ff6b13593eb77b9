import { getTableName, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * Unqualified column names, as SET lists, INSERT column lists and RETURNING of one table need in hand-written
 * statements (Drizzle renders `"table"."column"` inside `sql` templates).
 */
export const columnNames = (...columns: AnyPgColumn[]): SQL =>
  sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);

/**
 * `"table"."column"` (or under an alias of the table), written out where Drizzle would render the column bare: in
 * a single-table select, which a correlated subquery over the same table cannot tell from its own.
 */
export const qualifiedColumn = (column: AnyPgColumn, table = getTableName(column.table)): SQL =>
  sql`${sql.identifier(table)}.${sql.identifier(column.name)}`;
