import type { Context } from 'aws-lambda';
import { importConfig } from '../src/config';
import { database } from '../src/db/client';
import { importSettings, runImport, type ImportSummary } from '../src/import/service';

const settings = importSettings(importConfig()); // Fail the cold start, not the first run, on bad configuration.

/** Time kept back from the Lambda limit for the rows in flight, the checkpoint and the run's record. */
const STOP_MARGIN_MS = 60_000;

/**
 * Scheduled (EventBridge): one import run of IMPORT_SOURCE. A failed run throws, so the invocation fails visibly
 * (and is not retried: maximumRetryAttempts 0). Short of the function's time limit the run stops (STOPPED) and the
 * next scheduled run resumes where it stopped. While another run holds the source this one returns SKIPPED.
 */
export const handler = async (_event?: unknown, context?: Context): Promise<ImportSummary> =>
  runImport(database(), {
    ...settings,
    stopAt: context && Date.now() + context.getRemainingTimeInMillis() - STOP_MARGIN_MS,
  });
