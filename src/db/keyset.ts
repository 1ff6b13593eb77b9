import { asc, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import * as z from 'zod/mini';
import { LockstepError } from '../errors';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor<S extends z.ZodMiniType>(schema: S, cursor: string): z.output<S> {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (err) {
    throw new LockstepError('validation_failed', 'The cursor is invalid', {
      cause: err,
      errors: [{ path: 'query.cursor', message: 'Invalid cursor: pass back a nextCursor unchanged' }],
    });
  }
}

/** Rows were fetched with limit + 1: the extra row says whether another page exists. */
export function toPage<Row, Item>(rows: Row[], limit: number, view: (row: Row) => Item, key: (row: Row) => unknown): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  };
}

const CursorKey = z.tuple([
  z.iso.datetime().check(z.refine((time) => Math.abs(Date.parse(time)) < 8.2e15, 'Out of range')),
  z.uuid(),
]);

/**
 * Keyset pagination on (a timestamp column, id): stable under inserts and exact to the microsecond, which a JS
 * Date (milliseconds) is not, so the cursor's time is formatted by Postgres.
 */
export function keyset(time: PgColumn, id: PgColumn) {
  return {
    /** Select this as `cursorTime` beside the row's fields. */
    cursorTime: sql<string>`to_char(${time} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    after(cursor: string | undefined): SQL | undefined {
      if (cursor === undefined) return undefined;
      const [afterTime, afterId] = decodeCursor(CursorKey, cursor);
      return sql`(${time}, ${id}) > (${afterTime}::timestamptz, ${afterId}::uuid)`;
    },
    orderBy: [asc(time), asc(id)] as const,
    key: (row: { cursorTime: string; id: string }) => [row.cursorTime, row.id],
  };
}

const SequenceKey = z.tuple([z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER))]);

/**
 * Keyset pagination on a unique sequence column drawn in commit order per parent row (under its row lock): a row
 * that commits after a page was read gets a larger number than every row on it, so no page skips it.
 */
export function sequenceKeyset<Field extends string>(seq: PgColumn, field: Field) {
  return {
    after(cursor: string | undefined): SQL | undefined {
      if (cursor === undefined) return undefined;
      const [afterSeq] = decodeCursor(SequenceKey, cursor);
      return sql`${seq} > ${afterSeq}::bigint`;
    },
    orderBy: [asc(seq)] as const,
    key: (row: Record<Field, number>) => [row[field]],
  };
}
