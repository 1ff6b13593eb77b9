import * as z from 'zod';
import { LockstepError } from '../errors';

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor<S extends z.ZodType>(schema: S, cursor: string): z.output<S> {
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
