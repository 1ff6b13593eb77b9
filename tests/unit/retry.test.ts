import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/db/deadline';
import { AFTER_LOST_CONNECTION, backoffDelayMs, pauseBeforeRetry } from '../../src/db/retry';

describe('retry backoff', () => {
  const policy = { floorMs: 50, baseMs: 100, capMs: 1_000 };

  it('waits at least the floor, and at most the floor plus an exponentially growing, capped window', () => {
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(attempt, policy, () => 0))).toEqual([50, 50, 50, 50, 50, 50]);
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffDelayMs(attempt, policy, () => 1))).toEqual([150, 250, 450, 850, 1_050, 1_050]);
  });

  it('does not wait when the deadline would pass first', async () => {
    const started = performance.now();
    const retried = await withDeadline(Date.now() + AFTER_LOST_CONNECTION.floorMs - 10, () => pauseBeforeRetry(0, AFTER_LOST_CONNECTION));
    expect(retried).toBe(false);
    expect(performance.now() - started).toBeLessThan(AFTER_LOST_CONNECTION.floorMs - 10);
  });
});
