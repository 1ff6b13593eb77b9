import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import {
  beginStatement,
  commitStatement,
  deadlinePassed,
  lockWaitLimit,
  remainingMs,
  TRANSACTION_TIMEOUT_GRACE_MS,
  withDeadline,
  withinDeadline,
} from '../../src/db/deadline';

const render = (fragment: ReturnType<typeof lockWaitLimit>) => new PgDialect().sqlToQuery(sql`select 1 from ${fragment}`);

describe('request deadlines', () => {
  it('are unbounded outside a request', () => {
    expect(remainingMs()).toBeUndefined();
    expect(deadlinePassed()).toBe(false);
    expect(beginStatement()).toBe('begin');
    expect(commitStatement()).toBe('commit');
    expect(render(withinDeadline()).sql).toBe('select 1 from true');
  });

  it('travel to the server as a timestamp, from which it derives the limits when it starts the work', async () => {
    const at = Date.parse('2027-01-02T03:04:05.678Z');
    await withDeadline(at, async () => {
      const deadline = `'2027-01-02T03:04:05.678Z'::timestamptz`;
      expect(beginStatement()).toBe(`begin; select lockstep_begin_within(${deadline}, ${TRANSACTION_TIMEOUT_GRACE_MS})`);
      expect(commitStatement()).toBe(`select lockstep_time_left_ms(${deadline}); commit`);
      const check = render(withinDeadline());
      expect(check.sql).toBe('select 1 from lockstep_time_left_ms($1::timestamptz) > 0');
      expect(check.params).toEqual(['2027-01-02T03:04:05.678Z']);
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

  it('bound a statement\'s lock wait by the time the server has left, or by a cap below it', async () => {
    expect(render(lockWaitLimit()).sql).toBe('select 1 from (select null) as lock_wait_limit'); // outside a request: no limit set
    expect(render(lockWaitLimit(2_000)).params).toEqual(['2000ms']);
    await withDeadline(Date.parse('2027-01-02T03:04:05.678Z'), async () => {
      expect(render(lockWaitLimit()).sql).toContain(`set_config('lock_timeout', lockstep_time_left_ms($1::timestamptz) || 'ms', true)`);
      const capped = render(lockWaitLimit(2_000));
      expect(capped.sql).toContain(`least($1::bigint, lockstep_time_left_ms($2::timestamptz))`);
      expect(capped.params).toEqual([2_000, '2027-01-02T03:04:05.678Z']);
    });
  });
});
