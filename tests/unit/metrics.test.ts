import { afterEach, describe, expect, it, vi } from 'vitest';
import { call } from '../helpers/api';
import { captureMetrics, metricValues } from '../helpers/metrics';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('metrics', () => {
  it('a metric is one Embedded Metric Format line: per Service, and per Service and its breakdown', async () => {
    const lines = await captureMetrics(async () => {
      const { emitMetrics, METRIC } = await import('../../src/metrics/metrics');
      emitMetrics({ [METRIC.refusals]: 1 }, { Code: 'event_full' });
    });
    expect(lines).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [{ Namespace: 'lockstep/test', Dimensions: [['Service'], ['Service', 'Code']], Metrics: [{ Name: 'Refusals', Unit: 'Count' }] }],
        },
        Service: 'lockstep',
        Code: 'event_full',
        Refusals: 1,
      },
    ]);
  });

  it('nothing is written without METRICS_NAMESPACE', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const { emitMetrics, METRIC } = await import('../../src/metrics/metrics');
      emitMetrics({ [METRIC.refusals]: 1 });
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });

  it('an HTTP refusal is counted by its code', async () => {
    const lines = await captureMetrics(async () => {
      const { handler } = await import('../../functions/events-create');
      expect((await call(handler, { body: { name: 'x' } })).status).toBe(401);
    });
    expect(metricValues(lines)).toEqual([{ Refusals: 1, Code: 'unauthorized' }]);
  });

  it("an answer from the handler's deadline backstop is counted, and as a 503 database_unavailable", async () => {
    const lines = await captureMetrics(async () => {
      const { route } = await import('../../src/http/route');
      const { healthRoute } = await import('../../src/health/routes');
      // Work that never reports back, as a database behind a stalled network.
      const stalled = route(healthRoute, () => new Promise(() => undefined));
      expect((await call(stalled, { remainingMs: 600 })).status).toBe(503);
    });
    expect(metricValues(lines)).toEqual([{ DeadlineBackstopAnswers: 1 }, { Failures: 1, Code: 'database_unavailable' }]);
  });
});
