/**
 * `npm run db:intake`: a new migration that creates the intake procedure again, as src/registrations/admission.ts
 * renders it now. Run it after changing anything the procedure is built from; tests/unit/intake-procedure.test.ts
 * fails until the newest migration matches.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { intakeProcedure } from '../src/registrations/admission';
import { INTAKE_MIGRATION_HEADER } from './intake-migration';

execFileSync('npx', ['drizzle-kit', 'generate', '--custom', '--name', 'intake_procedure'], { stdio: 'inherit' });
const newest = readdirSync('drizzle').filter((name) => name.endsWith('.sql')).sort().at(-1)!;
writeFileSync(`drizzle/${newest}`, `${INTAKE_MIGRATION_HEADER}\n${intakeProcedure()};\n`);
console.log(`wrote drizzle/${newest}`);
