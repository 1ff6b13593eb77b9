import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { emptyTables, type Sql } from './sql';

/** What an import writes (with every table that references them), emptied before an import test. */
export const emptyImportTables = (sql: Sql, ...more: string[]) =>
  emptyTables(sql, 'events', 'users', 'slug_counters', 'import_runs', 'import_objects', 'import_checkpoints', 'import_sources', ...more);

/** A folder of import objects for one test file: empty, with empty import tables, before each test. */
export function importFolderPerTest(sql: Sql, name: string): () => string {
  let folder = '';
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), `lockstep-${name}-`));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));
  beforeEach(async () => {
    await emptyImportTables(sql);
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
  });
  return () => folder;
}
