/**
 * `npm run bench:import [concurrency ...]`: generate the 22,000-row data set (2,000 events, 20,000 registrations,
 * 4 objects, CSV and JSONL), import it from a local folder into a fresh database at each IMPORT_CONCURRENCY given
 * (default 8), and print rows/s with the run's counts next to the generator's expectation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeLineChart } from './bench-chart';
import { benchDatabase } from './bench-harness';
import { generateImportFixture, writeImportFixture } from './import-fixture';

const levels = process.argv.slice(2).map(Number);
if (levels.length === 0) levels.push(8);

const bench = await benchDatabase();
process.env.DATABASE_POOL_MAX = String(Math.max(...levels));
const { runImport } = await import('../src/import/service');
const { closeDatabase, database } = await import('../src/db/client');
const pool = new pg.Pool({ connectionString: bench.url, max: 2 });
pool.on('error', () => undefined);

const fixture = generateImportFixture({ events: 2_000, registrations: 20_000 });
const folder = await mkdtemp(join(tmpdir(), 'lockstep-bench-import-'));
await writeImportFixture(folder, fixture);

const table = [];
for (const concurrency of levels) {
  await pool.query('truncate events, registrations, users, slug_counters, import_runs, import_objects cascade');
  const started = performance.now();
  const summary = await runImport(database(), { location: folder, ownerSub: 'bench-importer', concurrency });
  const seconds = (performance.now() - started) / 1000;
  const { runId: _runId, source: _source, objectsImported: _imported, objectsSkipped: _skipped, ...counts } = summary;
  table.push({
    concurrency,
    seconds: +seconds.toFixed(2),
    'rows/s': Math.round(summary.read / seconds),
    ...counts,
    'as expected': JSON.stringify(counts) === JSON.stringify(fixture.expected) ? 'yes' : `NO, expected ${JSON.stringify(fixture.expected)}`,
  });
}
console.log(`${fixture.expected.read} rows in ${fixture.objects.length} objects (${fixture.objects.map((o) => o.name).join(', ')})`);
console.table(table);
if (levels.length > 1) {
  const chart = await writeLineChart({
    name: 'import',
    title: 'Import rows per second against IMPORT_CONCURRENCY',
    conditions: `${fixture.expected.read} rows in ${fixture.objects.length} objects`,
    rows: table.map((row) => ({ ...row, run: 'import' })),
    x: { field: 'concurrency', title: 'IMPORT_CONCURRENCY' },
    y: { field: 'rows/s', title: 'rows/s' },
    series: 'run',
  });
  console.log(`chart: ${chart}`);
}
await pool.end();
await closeDatabase();
await rm(folder, { recursive: true, force: true });
await bench.stop();
