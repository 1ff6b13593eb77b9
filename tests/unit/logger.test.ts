import { describe, expect, it, vi } from 'vitest';

describe('logger', () => {
  it("an entry carries the keys of the work that logged it, however many invocations interleave", async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    vi.resetModules();
    const { logger } = await import('../../src/logger');
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
    const tick = () => new Promise((resolve) => setTimeout(resolve, 2));
    try {
      // Three invocations at once, as serverless offline runs them in one process: their awaits interleave.
      await Promise.all(
        ['createEvent', 'register', 'getCard'].map((operation) =>
          logger.withKeys({ operation }, async () => {
            for (let step = 0; step < 3; step++) {
              await tick();
              logger.info('step', { expected: operation });
            }
            await logger.withKeys({ phase: 'inner' }, async () => {
              await tick();
              logger.info('inner step', { expected: operation });
            });
          }),
        ),
      );
      logger.info('outside');
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
      vi.resetModules();
    }
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toHaveLength(13);
    const inside = entries.slice(0, -1);
    // The steps really interleaved, and each still names its own operation.
    expect(new Set(inside.slice(0, 3).map((entry) => entry.operation)).size).toBeGreaterThan(1);
    for (const entry of inside) expect(entry.operation).toBe(entry.expected);
    expect(inside.filter((entry) => entry.phase === 'inner').map((entry) => entry.message)).toEqual(Array(3).fill('inner step'));
    expect(entries.at(-1)).not.toHaveProperty('operation');
  });
});
