import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { describeError, summarizeError } from '../../src/db/describe-error';

describe('describeError', () => {
  it('keeps SQLSTATE, constraint and frames but drops SQL, parameters and connection strings', () => {
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "events_slug_key"'), {
      code: '23505',
      constraint: 'events_slug_key',
      detail: 'Key (slug)=(secret-slug) already exists.',
      client: { connectionString: 'postgresql://user:hunter2@db.example/lockstep' },
    });
    const wrapped = new DrizzleQueryError('insert into "events" ("slug") values ($1)\nreturning *', ['secret-slug'], driverError);
    const logged = JSON.stringify(describeError(wrapped));
    expect(logged).toContain('23505');
    expect(logged).toContain('events_slug_key');
    expect(logged).toContain('at ');
    expect(logged).not.toMatch(/insert into|secret-slug|hunter2|returning/);
  });

  it("summarizes for a CLI without the query, its parameters or Postgres' message quoting a value", () => {
    const driverError = Object.assign(new Error('invalid input syntax for type uuid: "row-secret"'), { code: '22P02' });
    const wrapped = new DrizzleQueryError('select * from "events" where "id" = $1', ['row-secret'], driverError);
    const summary = summarizeError(wrapped);
    expect(summary).toContain('22P02');
    expect(summary).not.toMatch(/row-secret|select|events/);
    expect(summarizeError(new Error('IMPORT_SOURCE: Required'))).toBe('Error IMPORT_SOURCE: Required');
  });
});
