import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTAKE_PROCEDURE } from '../src/registrations/intake';

/** The first line of a migration written by `npm run db:intake`. */
export const INTAKE_MIGRATION_HEADER = '-- The intake procedure, rendered from src/registrations/admission.ts by `npm run db:intake`. Do not edit.';

/** The procedure's definition as the newest migration that creates it holds it (its text after the header). */
export function migratedIntakeProcedure(dir = 'drizzle'): string | undefined {
  const files = readdirSync(dir).filter((name) => name.endsWith('.sql')).sort().reverse();
  for (const name of files) {
    const text = readFileSync(join(dir, name), 'utf8');
    if (text.startsWith(INTAKE_MIGRATION_HEADER) && text.includes(`procedure ${INTAKE_PROCEDURE}(`)) {
      return text.slice(INTAKE_MIGRATION_HEADER.length + 1).replace(/;\n$/, '');
    }
  }
  return undefined;
}
