import { describe, expect, it } from 'vitest';
import { intakeProcedure } from '../../src/registrations/admission';
import { migratedIntakeProcedure } from '../../scripts/intake-migration';

describe('the intake procedure', () => {
  it('is migrated as src/registrations/admission.ts renders it (else: npm run db:intake)', () => {
    expect(migratedIntakeProcedure()).toBe(intakeProcedure());
  });
});
