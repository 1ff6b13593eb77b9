import { and, eq, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/handle';
import { LockstepError } from '../errors';
import { slugCounters } from './schema';
import { isReservedSlug, MAX_NUMBER_DIGITS, numberedSlug, numberStem, randomSlug, secretSlug, slugify } from './slug';

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

/** One allocation, whose insert attempts are counted in `slugAllocationStats`. */
function counted<Row>(insert: InsertWithSlug<Row>): InsertWithSlug<Row> {
  slugAllocationStats.allocations++;
  return (slug) => {
    slugAllocationStats.insertAttempts++;
    return insert(slug);
  };
}

/** Random slugs (≈51 or 128 bits) collide about never; a bound keeps a broken insert from looping. */
const MAX_RANDOM_ATTEMPTS = 20;

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
 *    number in one query and the insert retried. Each retry passes every number stored when it ran, so only a
 *    concurrent insert of that very slug makes another: there is no attempt limit to run into.
 *
 * Counters are kept per number stem (see `numberStem`), so long bases cut to one stem share one sequence of
 * numbers, and every stored numbered form is seen by the counter's probe.
 */
export async function insertWithDerivedSlug<Row>(
  db: Db,
  target: SlugTarget,
  name: string,
  insert: InsertWithSlug<Row>,
): Promise<Row> {
  const attempt = counted(insert);
  const base = slugify(name);
  if (base === '') return insertWithRandomSlug(attempt, randomSlug);
  if (!isReservedSlug(base)) {
    const row = await attempt(base);
    if (row !== undefined) return row;
  }
  const stem = numberStem(base);
  for (let n = await nextNumber(db, target, stem); ; n = await skipPastStoredNumbers(db, target, stem)) {
    const row = await attempt(numberedSlug(stem, n));
    if (row !== undefined) return row;
  }
}

/**
 * Create a row under an unguessable slug (see `secretSlug`), for what must not be found by its name. Insert first
 * like every allocation: the unique index decides.
 */
export async function insertWithSecretSlug<Row>(insert: InsertWithSlug<Row>): Promise<Row> {
  return insertWithRandomSlug(counted(insert), secretSlug);
}

async function insertWithRandomSlug<Row>(attempt: InsertWithSlug<Row>, random: () => string): Promise<Row> {
  for (let tries = 0; tries < MAX_RANDOM_ATTEMPTS; tries++) {
    const row = await attempt(random());
    if (row !== undefined) return row;
  }
  throw new Error('random slug allocation did not converge');
}

/**
 * The highest n of stored `stem-n` slugs, or 1. `LIKE 'stem-%'` uses the slug's text_pattern_ops index; numbers
 * longer than a counter can reach are not counted (nor can the counter ever get to them).
 */
function highestStoredNumber(target: SlugTarget, stem: string) {
  const suffix = sql`substring(${target.slugColumn} from ${stem.length + 2}::int)`;
  return sql`(select coalesce(max(${suffix}::bigint), 1) from ${target.table}
    where ${target.slugColumn} like ${`${stem}-%`} and ${suffix} ~ ${`^[0-9]{1,${MAX_NUMBER_DIGITS}}$`})`;
}

const counterIs = (target: SlugTarget, stem: string) => and(eq(slugCounters.namespace, target.namespace), eq(slugCounters.base, stem));

/** Counter values as text: beyond 2^53 a JS number would repeat one. */
const counterValue = { n: sql<string>`${slugCounters.lastNumber}::text` };

async function nextNumber(db: Db, target: SlugTarget, stem: string): Promise<bigint> {
  const [bumped] = await db
    .update(slugCounters)
    .set({ lastNumber: sql`${slugCounters.lastNumber} + 1` })
    .where(counterIs(target, stem))
    .returning(counterValue);
  if (bumped) return BigInt(bumped.n);
  // First collision on this base: seed the counter. Concurrent seeders serialize on the primary key.
  const [seeded] = await db
    .insert(slugCounters)
    .values({ namespace: target.namespace, base: stem, lastNumber: sql`${highestStoredNumber(target, stem)} + 1` })
    .onConflictDoUpdate({ target: [slugCounters.namespace, slugCounters.base], set: { lastNumber: sql`${slugCounters.lastNumber} + 1` } })
    .returning(counterValue);
  return BigInt(seeded!.n);
}

async function skipPastStoredNumbers(db: Db, target: SlugTarget, stem: string): Promise<bigint> {
  const [lifted] = await db
    .update(slugCounters)
    .set({ lastNumber: sql`greatest(${slugCounters.lastNumber}, ${highestStoredNumber(target, stem)}) + 1` })
    .where(counterIs(target, stem))
    .returning(counterValue);
  return BigInt(lifted!.n);
}
