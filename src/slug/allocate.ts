import { sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client';
import { LockstepError } from '../errors';
import { isReservedSlug, numberedSlug, randomSlug, slugify } from './slug';

export interface SlugTarget {
  /** Counter namespace, one per table of slugs. */
  namespace: string;
  table: PgTable;
  slugColumn: PgColumn;
}

/**
 * Insert the row with this slug; `undefined` when the slug is taken (`onConflictDoNothing` on the slug). Any other
 * answer ends the allocation: an import answers with the existing row when the row's external key already exists.
 */
export type InsertWithSlug<Row> = (slug: string) => Promise<Row | undefined>;

/** Insert attempts made across all allocations in this process: contention telemetry, read by the race tests. */
export const slugAllocationStats = { allocations: 0, insertAttempts: 0 };

const MAX_ATTEMPTS = 20;

/**
 * Create a row under the client's explicit slug, taken as given (409 slug_taken when taken, never altered), or
 * under one derived from `name` when there is none.
 */
export async function insertWithSlug<Row>(
  db: Db,
  target: SlugTarget,
  { name, explicitSlug }: { name: string; explicitSlug: string | undefined },
  insert: InsertWithSlug<Row>,
): Promise<Row> {
  if (explicitSlug === undefined) return insertWithDerivedSlug(db, target, name, insert);
  const row = await insert(explicitSlug);
  if (row === undefined) {
    throw new LockstepError('slug_taken', `The slug "${explicitSlug}" is already taken`, {
      errors: [{ path: 'slug', message: 'Already taken' }],
    });
  }
  return row;
}

/**
 * Create a row under a slug derived from `name`, race-free: the unique index decides, never a prior read.
 *
 * 1. Insert with the plain slug (skipped for reserved words).
 * 2. On conflict, one upsert on `slug_counters` hands this create its own number, so N concurrent creates of one
 *    name get N different numbers instead of all probing `name-2`. A new counter starts above the highest
 *    numbered slug already stored.
 * 3. A numbered slug can still be taken by an explicit slug; the counter is then lifted past the highest stored
 *    number in one query and the insert retried.
 */
export async function insertWithDerivedSlug<Row>(
  db: Db,
  target: SlugTarget,
  name: string,
  insert: InsertWithSlug<Row>,
): Promise<Row> {
  slugAllocationStats.allocations++;
  const attempt = (slug: string) => {
    slugAllocationStats.insertAttempts++;
    return insert(slug);
  };
  const base = slugify(name);
  if (base === '') return insertWithRandomSlug(attempt);
  if (!isReservedSlug(base)) {
    const row = await attempt(base);
    if (row !== undefined) return row;
  }
  let n = await nextNumber(db, target, base);
  for (let tries = 0; tries < MAX_ATTEMPTS; tries++) {
    const row = await attempt(numberedSlug(base, n));
    if (row !== undefined) return row;
    n = await skipPastStoredNumbers(db, target, base);
  }
  throw new Error(`slug allocation for a base of length ${base.length} did not converge`);
}

async function insertWithRandomSlug<Row>(attempt: InsertWithSlug<Row>): Promise<Row> {
  for (let tries = 0; tries < MAX_ATTEMPTS; tries++) {
    const row = await attempt(randomSlug());
    if (row !== undefined) return row;
  }
  throw new Error('random slug allocation did not converge');
}

/** The highest n of stored `base-n` slugs, or 1. `LIKE 'base-%'` uses the slug's text_pattern_ops index. */
function highestStoredNumber(target: SlugTarget, base: string) {
  const suffix = sql`substring(${target.slugColumn} from ${base.length + 2}::int)`;
  return sql`(select coalesce(max(${suffix}::bigint), 1) from ${target.table}
    where ${target.slugColumn} like ${`${base}-%`} and ${suffix} ~ '^[0-9]{1,15}$')`;
}

async function nextNumber(db: Db, target: SlugTarget, base: string): Promise<number> {
  const bumped = await db.execute<{ n: string }>(sql`
    update slug_counters set last_number = last_number + 1
    where namespace = ${target.namespace} and base = ${base}
    returning last_number as n`);
  if (bumped.rows[0]) return Number(bumped.rows[0].n);
  // First collision on this base: seed the counter. Concurrent seeders serialize on the primary key.
  const seeded = await db.execute<{ n: string }>(sql`
    insert into slug_counters (namespace, base, last_number)
    values (${target.namespace}, ${base}, ${highestStoredNumber(target, base)} + 1)
    on conflict (namespace, base) do update set last_number = slug_counters.last_number + 1
    returning last_number as n`);
  return Number(seeded.rows[0]!.n);
}

async function skipPastStoredNumbers(db: Db, target: SlugTarget, base: string): Promise<number> {
  const lifted = await db.execute<{ n: string }>(sql`
    update slug_counters set last_number = greatest(last_number, ${highestStoredNumber(target, base)}) + 1
    where namespace = ${target.namespace} and base = ${base}
    returning last_number as n`);
  return Number(lifted.rows[0]!.n);
}
