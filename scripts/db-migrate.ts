import * as z from 'zod';
import { runMigrations } from '../src/db/migrate';

// Only the database URL matters here; the full app config (auth) is not required to migrate.
const url = z.url({ protocol: /^postgres(ql)?$/ }).parse(process.env.DATABASE_URL, {
  error: () => 'Set DATABASE_URL to a postgres:// URL',
});
await runMigrations(url);
console.log('migrations applied');
