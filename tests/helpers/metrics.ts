import { vi } from 'vitest';

export interface MetricLine {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [field: string]: unknown;
}

/**
 * The Embedded Metric Format lines `work` writes on stdout, with METRICS_NAMESPACE set (modules imported inside
 * `work` after `vi.resetModules()` read it). Other stdout output is swallowed.
 */
export async function captureMetrics(work: () => Promise<unknown>): Promise<MetricLine[]> {
  vi.stubEnv('METRICS_NAMESPACE', 'lockstep/test');
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
  try {
    await work();
  } finally {
    write.mockRestore();
  }
  return lines.filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line) as MetricLine);
}

/** `{ Failures: 1, Code: 'database_unavailable' }`: each line's metric values and breakdown, without the metadata. */
export const metricValues = (lines: MetricLine[]) =>
  lines.map(({ _aws, Service, ...values }) => values); // eslint-disable-line @typescript-eslint/no-unused-vars
