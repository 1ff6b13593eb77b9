/**
 * `npm run maintenance [-- --repair]`: the scheduled maintenance, run once from the command line against
 * DATABASE_URL. Purges expired idempotency keys and finished webhook messages past retention, and reports every
 * event whose counters (its shards, event_shards) disagree with its rows; `--repair` fixes them under the event's row
 * lock and all of its shard locks. Exit code 2 when drift remains unrepaired, 1 on failure.
 */
import type { MaintenanceReport } from '../src/maintenance/service';

process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN';
const repair = process.argv.slice(2).includes('--repair');

const { closeDatabase, database } = await import('../src/db/client');
const { runMaintenance } = await import('../src/maintenance/service');
const { summarizeError } = await import('../src/db/describe-error');

let exitCode = 0;
try {
  const report: MaintenanceReport = await runMaintenance(database(), { repair });
  console.log(`purged ${report.purgedIdempotencyKeys} expired idempotency keys`);
  console.log(`purged ${report.purgedWebhookMessages} finished webhook messages past retention`);
  console.log(`purged ${report.purgedIntakeRows} registration intake rows (decided past retention, or left by a backend that is gone)`);
  console.log(report.drift.length === 0 ? 'event counters: all consistent' : `event counters: ${report.drift.length} drifted`);
  for (const event of report.drift) {
    console.log(
      `  event ${event.eventId}: spots_reserved ${event.spotsReserved} vs confirmed ${event.confirmedSpots}, waitlist_count ${event.waitlistCount} vs waiting ${event.waitingRows}: ${event.repaired ? 'repaired' : repair ? 'NOT repaired (needs a human)' : 'not repaired (run with --repair)'}`,
    );
  }
  if (report.drift.some((event) => !event.repaired)) exitCode = 2;
} catch (err) {
  // Drizzle's message holds the SQL and its parameters: the summary keeps only what may be shown.
  console.error(`maintenance failed: ${summarizeError(err)}`);
  exitCode = 1;
} finally {
  await closeDatabase();
}
process.exit(exitCode);
