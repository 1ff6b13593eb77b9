import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // Each domain owns its tables.
  schema: './src/*/schema.ts',
  out: './drizzle',
  strict: true,
});
