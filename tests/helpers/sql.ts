import pg from 'pg';
import { afterAll } from 'vitest';

/** A separate connection to the test database for asserting invariants, independent of the app's pool. */
export function sqlClient() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  afterAll(async () => {
    // pool.end() resolves before its connections have closed. Wait for them: the database is force-dropped next,
    // and a connection still closing would receive the termination as an unhandled pool error.
    let open = pool.totalCount;
    const closed = new Promise<void>((resolve) => {
      if (open === 0) resolve();
      pool.on('remove', () => {
        if (--open === 0) resolve();
      });
    });
    await pool.end();
    await closed;
  });
  return async <Row = Record<string, any>>(text: string, values: unknown[] = []) =>
    (await pool.query(text, values)).rows as Row[];
}
