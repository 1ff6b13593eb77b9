import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { renderedOnce } from '../../src/db/prepared';
import { events } from '../../src/events/schema';

const render = (fragment: ReturnType<typeof sql>) => new PgDialect().sqlToQuery(sql`select 1 where ${fragment} and ${7}`);

describe('renderedOnce', () => {
  it('renders a fragment without values to the text Drizzle would send, inside any statement', () => {
    const fragment = sql`${events.id} = ${events.organizerId}`;
    expect(render(renderedOnce(fragment))).toEqual(render(fragment));
  });

  it('refuses a fragment that holds a value: its text alone would lose it', () => {
    expect(() => renderedOnce(sql`${events.id} = ${'x'}`)).toThrow(/holds values/);
  });
});
