import pg from 'pg';
import { afterAll } from 'vitest';

export type Sql = <Row = Record<string, any>>(text: string, values?: unknown[]) => Promise<Row[]>;

/** A separate connection to the test database for asserting invariants, independent of the app's pool. */
export function sqlClient(): Sql {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  // pool.end() resolves before its sockets close, and the file's database is then dropped WITH (FORCE): the
  // termination notice can reach a closing connection, and an unhandled pool 'error' would fail the run.
  pool.on('error', () => undefined);
  afterAll(() => pool.end());
  return async <Row = Record<string, any>>(text: string, values: unknown[] = []) =>
    (await pool.query(text, values)).rows as Row[];
}

const deletions = new Map<string, Promise<string>>();

/**
 * What `truncate <tables> cascade` empties, emptied with DELETE, and like TRUNCATE without firing triggers (a team
 * whose owner went with the users stays, as it did). Between tests TRUNCATE costs far more: new files for every
 * table and index, and every pooled backend reloads its cache of them.
 */
export async function emptyTables(sql: Sql, ...tables: string[]): Promise<void> {
  const key = tables.join(',');
  if (!deletions.has(key)) deletions.set(key, deletionsFor(sql, tables));
  await sql(await deletions.get(key)!);
}

async function deletionsFor(sql: Sql, tables: string[]): Promise<string> {
  const references = await sql<{ child: string; parent: string }>(
    `select conrelid::regclass::text as child, confrelid::regclass::text as parent from pg_constraint
     where contype = 'f' and conrelid <> confrelid`,
  );
  const emptied = new Set(tables);
  for (let grew = true; grew; ) {
    grew = false;
    for (const { child, parent } of references) {
      if (emptied.has(parent) && !emptied.has(child)) {
        emptied.add(child);
        grew = true;
      }
    }
  }
  // Children before their parents.
  const ordered: string[] = [];
  const visit = (table: string, path: Set<string>) => {
    if (ordered.includes(table)) return;
    if (path.has(table)) throw new Error(`foreign keys run in a circle through ${table}`);
    for (const { child, parent } of references) if (parent === table && emptied.has(child)) visit(child, new Set([...path, table]));
    ordered.push(table);
  };
  for (const table of emptied) visit(table, new Set());
  // Replica mode skips triggers, foreign keys' included: the closure above already holds every referencing table.
  return `begin; set local session_replication_role = replica; ${ordered.map((table) => `delete from ${table};`).join(' ')} commit;`;
}
