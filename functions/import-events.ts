import { importConfig } from '../src/config';
import { database } from '../src/db/client';
import { runImport, type ImportSummary } from '../src/import/service';

const cfg = importConfig(); // Fail the cold start, not the first run, on bad configuration.

/** Scheduled (EventBridge): one import run of IMPORT_SOURCE. A failed run throws, so the invocation fails visibly. */
export const handler = async (): Promise<ImportSummary> =>
  runImport(database(), {
    location: cfg.IMPORT_SOURCE,
    ownerSub: cfg.IMPORT_OWNER_SUB,
    concurrency: cfg.IMPORT_CONCURRENCY,
    s3Endpoint: cfg.IMPORT_S3_ENDPOINT,
  });
