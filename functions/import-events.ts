import type { Context } from 'aws-lambda';
import { importConfig, JOB_SECRETS, loadSecrets } from '../src/config';
import { database } from '../src/db/client';
import { importSettings, runImport, type ImportSummary } from '../src/import/service';
import { emitMetrics, METRIC } from '../src/metrics/metrics';

await loadSecrets(JOB_SECRETS); // In AWS the database URL is read from Secrets Manager, once per instance.
const settings = importSettings(importConfig()); // Fail the cold start, not the first run, on bad configuration.

/** Time kept back from the Lambda limit for the rows in flight, the checkpoint and the run's record. */
const STOP_MARGIN_MS = 60_000;

/** The row outcomes a run's summary counts, each one ImportRows series. */
const OUTCOMES = ['created', 'unchanged', 'waitlisted', 'rejected'] as const;

/**
 * Scheduled (EventBridge): one import run of IMPORT_SOURCE. A failed run throws, so the invocation fails visibly.
 * Short of the function's time limit the run stops (STOPPED) and the next scheduled run resumes where it stopped.
 */
export const handler = async (_event?: unknown, context?: Context): Promise<ImportSummary> => {
  let summary: ImportSummary;
  try {
    summary = await runImport(database(), {
      ...settings,
      stopAt: context && Date.now() + context.getRemainingTimeInMillis() - STOP_MARGIN_MS,
    });
  } catch (err) {
    emitMetrics({ [METRIC.importRunsFailed]: 1 });
    throw err;
  }
  emitMetrics({ [METRIC.importRunsFailed]: 0 });
  for (const outcome of OUTCOMES) emitMetrics({ [METRIC.importRows]: summary[outcome] }, { Outcome: outcome });
  return summary;
};
