import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import {
  deadlinePassed,
  lockWaitLimit,
  remainingMs,
  transactionLimits,
  TRANSACTION_TIMEOUT_GRACE_MS,
  withDeadline,
} from '../../src/db/deadline';

describe('request deadlines', () => {
  it('are unbounded outside a request', () => {
    expect(remainingMs()).toBeUndefined();
    expect(deadlinePassed()).toBe(false);
    expect(transactionLimits()).toBe('');
  });

  it('give every transaction the time left, with transaction_timeout a grace later', async () => {
    await withDeadline(Date.now() + 5_000, async () => {
      const left = remainingMs()!;
      expect(left).toBeGreaterThan(4_900);
      expect(left).toBeLessThanOrEqual(5_000);
      const limits = transactionLimits();
      const [lock, statement, whole] = [...limits.matchAll(/= (\d+)/g)].map((m) => Number(m[1]));
      expect(limits).toMatch(/^; set local lock_timeout = \d+; set local statement_timeout = \d+; set local transaction_timeout = \d+$/);
      expect(statement).toBe(lock);
      expect(whole! - lock!).toBe(TRANSACTION_TIMEOUT_GRACE_MS);
    });
  });

  it('never hand Postgres 0 (no limit) once the deadline has passed', async () => {
    await withDeadline(Date.now() - 10, async () => {
      expect(remainingMs()).toBe(1);
      expect(deadlinePassed()).toBe(true);
    });
  });

  it('follow the request through awaits, and concurrent requests keep their own', async () => {
    const seen = await Promise.all(
      [1_000, 9_000].map((ms) =>
        withDeadline(Date.now() + ms, async () => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          return remainingMs()!;
        }),
      ),
    );
    expect(seen[0]).toBeLessThan(1_000);
    expect(seen[1]).toBeGreaterThan(8_000);
  });

  it('bound a statement\'s lock wait by the deadline, or by a cap below it', async () => {
    const waitOf = (from: ReturnType<typeof lockWaitLimit>) => new PgDialect().sqlToQuery(sql`select 1 from ${from}`).params[0];
    expect(waitOf(lockWaitLimit())).toBeUndefined(); // outside a request: no limit set
    expect(waitOf(lockWaitLimit(2_000))).toBe('2000ms');
    await withDeadline(Date.now() + 5_000, async () => {
      expect(Number.parseInt(String(waitOf(lockWaitLimit())))).toBeGreaterThan(4_900);
      expect(waitOf(lockWaitLimit(2_000))).toBe('2000ms');
    });
    await withDeadline(Date.now() + 500, async () => {
      expect(Number.parseInt(String(waitOf(lockWaitLimit(2_000))))).toBeLessThanOrEqual(500);
    });
  });
});
