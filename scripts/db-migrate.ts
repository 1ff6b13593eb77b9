import * as z from 'zod';
import { runMigrations } from '../src/db/migrate';
import { UnsupportedPostgresError } from '../src/db/version';

// Only the database URL matters here; the full app config (auth) is not required to migrate.
const url = z.url({ protocol: /^postgres(ql)?$/ }).parse(process.env.DATABASE_URL, {
  error: () => 'Set DATABASE_URL to a postgres:// URL',
});
try {
  await runMigrations(url);
} catch (err) {
  if (!(err instanceof UnsupportedPostgresError)) throw err;
  console.error(err.message);
  process.exit(1);
}
console.log('migrations applied');
