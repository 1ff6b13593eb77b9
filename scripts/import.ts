/**
 * `npm run import -- [<folder|file|s3://bucket/prefix/>] [--rescan] [--reprocess]`: the scheduled import, run once
 * from the command line. The location defaults to IMPORT_SOURCE; IMPORT_OWNER_SUB, IMPORT_CONCURRENCY and
 * DATABASE_URL come from the environment as for the scheduled function. `--rescan` lists the whole source, not only
 * the names after its watermark (objects already imported are still skipped); `--reprocess` reads objects already
 * imported too (their rows' external keys still create nothing twice). A progress bar goes to stderr, the summary to
 * stdout; the exit code is 1 when the run failed (rejected rows do not fail it) and 3 when it did not run because
 * another run holds the source.
 */
import type { ImportProgress } from '../src/import/service';

const args = process.argv.slice(2);
const location = args.find((arg) => !arg.startsWith('--'));
if (location !== undefined) process.env.IMPORT_SOURCE = location;
// Structured logs would interleave with the summary; warnings and errors still show.
process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN';
// One connection per concurrent row.
process.env.DATABASE_POOL_MAX ||= process.env.IMPORT_CONCURRENCY || '8';

const { importConfig } = await import('../src/config');
const { closeDatabase, database } = await import('../src/db/client');
const { importSettings, listRejections, runImport } = await import('../src/import/service');
const { summarizeError } = await import('../src/db/describe-error');

/** One line, redrawn in place on a terminal; elsewhere one line per finished object. */
function progressBar(): { update: (progress: ImportProgress) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last: ImportProgress | undefined;
  let drawnAt = 0;
  let objectsReported = 0;
  const render = (p: ImportProgress) => {
    const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesRead / p.bytesTotal) : 1;
    const filled = Math.round(ratio * 30);
    return `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% objects ${p.objectsDone}/${p.objectsTotal} rows ${p.read}: ${p.created} created, ${p.waitlisted} waitlisted, ${p.unchanged} unchanged, ${p.rejected} rejected`;
  };
  return {
    update(progress) {
      last = progress;
      if (tty && performance.now() - drawnAt >= 100) {
        drawnAt = performance.now();
        process.stderr.write(`\r${render(progress)}\x1b[K`);
      } else if (!tty && progress.objectsDone > objectsReported) {
        objectsReported = progress.objectsDone;
        process.stderr.write(`${render(progress)}\n`);
      }
    },
    done() {
      if (tty && last) process.stderr.write(`\r${render(last)}\x1b[K\n`);
    },
  };
}

const bar = progressBar();
let exitCode = 0;
try {
  const summary = await runImport(database(), {
    ...importSettings(importConfig()),
    reprocess: args.includes('--reprocess'),
    rescan: args.includes('--rescan'),
    onProgress: bar.update,
  });
  bar.done();
  console.log(`import run ${summary.runId} from ${summary.source}: ${summary.status}`);
  if (summary.heldBy) {
    console.log(`not run: import run ${summary.heldBy.runId ?? '(released)'} holds this source until ${summary.heldBy.until?.toISOString() ?? 'now'}`);
    exitCode = 3;
  }
  console.log(`objects: ${summary.objectsImported} imported, ${summary.objectsSkipped} skipped (already imported)`);
  console.log(
    `rows: ${summary.read} read, ${summary.created} created, ${summary.waitlisted} waitlisted, ${summary.unchanged} unchanged, ${summary.rejected} rejected`,
  );
  const shown = 20;
  for (const rejection of await listRejections(database(), summary.runId, shown)) {
    console.log(`  rejected ${rejection.object}:${rejection.line}${rejection.externalId ? ` (${rejection.externalId})` : ''}: ${rejection.reason}`);
  }
  if (summary.rejected > shown) console.log(`  … all ${summary.rejected} in import_rejections where run_id = '${summary.runId}'`);
} catch (err) {
  bar.done();
  // Drizzle's message holds the SQL and its parameters: the summary keeps only what may be shown.
  console.error(`import failed: ${summarizeError(err)}`);
  exitCode = 1;
} finally {
  await closeDatabase();
}
process.exit(exitCode);
