import pg from 'pg';
import { afterAll } from 'vitest';

/** A separate connection to the test database for asserting invariants, independent of the app's pool. */
export function sqlClient() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  // pool.end() resolves before its sockets close, and the file's database is then dropped WITH (FORCE): the
  // termination notice can reach a closing connection, and an unhandled pool 'error' would fail the run.
  pool.on('error', () => undefined);
  afterAll(() => pool.end());
  return async <Row = Record<string, any>>(text: string, values: unknown[] = []) =>
    (await pool.query(text, values)).rows as Row[];
}
