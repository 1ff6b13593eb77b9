import { JOB_SECRETS, loadSecrets, maintenanceConfig } from '../src/config';
import { database } from '../src/db/client';
import { runMaintenance, type MaintenanceReport } from '../src/maintenance/service';
import { emitMetrics, METRIC } from '../src/metrics/metrics';

await loadSecrets(JOB_SECRETS); // In AWS the database URL is read from Secrets Manager, once per instance.
const cfg = maintenanceConfig(); // Fail the cold start, not the first run, on bad configuration.

/** Scheduled (EventBridge): purge expired idempotency keys and check counters; repair only with MAINTENANCE_REPAIR. */
export const handler = async (): Promise<MaintenanceReport> => {
  const report = await runMaintenance(database(), { repair: cfg.MAINTENANCE_REPAIR });
  // Written even when 0, so the drift alarm sees a healthy run as 0 rather than as missing data.
  emitMetrics({ [METRIC.counterDriftFound]: report.drift.length });
  return report;
};
