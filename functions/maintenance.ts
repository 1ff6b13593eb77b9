import { maintenanceConfig } from '../src/config';
import { database } from '../src/db/client';
import { runMaintenance, type MaintenanceReport } from '../src/maintenance/service';

const cfg = maintenanceConfig(); // Fail the cold start, not the first run, on bad configuration.

/** Scheduled (EventBridge): purge expired idempotency keys and check counters; repair only with MAINTENANCE_REPAIR. */
export const handler = async (): Promise<MaintenanceReport> => runMaintenance(database(), { repair: cfg.MAINTENANCE_REPAIR });
