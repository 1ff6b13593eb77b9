import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import rule from '../../eslint-rules/no-find-then-create.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });
const error = (table: string) => ({ messageId: 'findThenCreate', data: { table, line: 2 } });

tester.run('lockstep/no-find-then-create', rule, {
  valid: [
    // The ADR's shape: the unique index decides.
    `async function f(db) {
      const [found] = await db.select().from(users).where(eq(users.sub, sub));
      return found ?? (await db.insert(users).values({ sub }).onConflictDoNothing({ target: users.sub }).returning())[0];
    }`,
    `async function f(db) {
      await db.query.users.findFirst({ where: eq(users.sub, sub) });
      await db.insert(users).values({ sub }).onConflictDoUpdate({ target: users.sub, set: { sub } });
    }`,
    // The builder stored, then given its onConflict…
    `async function f(db, key) {
      const [found] = await db.select().from(events);
      const insert = db.insert(events).values(values);
      return key ? insert.onConflictDoNothing() : insert.onConflictDoNothing({ target: events.slug });
    }`,
    // Another table.
    `async function f(db) {
      const [team] = await db.select().from(teams).where(eq(teams.slug, slug));
      await db.insert(teamMemberships).values({ teamId: team.id, userId });
    }`,
    // An insert first, then a read: the insert-then-select half of get-or-create.
    `async function f(db) {
      const [row] = await db.insert(users).values({ sub }).returning();
      return db.select().from(users).where(eq(users.id, row.id));
    }`,
    // Read and insert in two separate functions.
    `async function find(db) { return db.select().from(users); }
     async function create(db) { return db.insert(users).values({ sub }); }`,
    // A module-level subquery builder is part of other statements, not a read.
    `const linksOfCard = subquery.select({ n: count() }).from(cardLinks);
     async function f(db) { await db.insert(cardLinks).values(links); }`,
    // A \`from\` that is not a select (e.g. Array.from) is not a read.
    `async function f(db) { const ids = Array.from(users); await db.insert(users).values(ids); }`,
  ],
  invalid: [
    {
      code: `async function ensureUser(db, sub) {
        const [found] = await db.select().from(users).where(eq(users.sub, sub));
        if (found) return found;
        const [created] = await db.insert(users).values({ sub }).returning();
        return created;
      }`,
      errors: [error('users')],
    },
    {
      code: `const f = async (db) => {
        const found = await db.query.settings.findFirst({ where: eq(settings.userId, id) });
        if (!found) await db.insert(settings).values({ userId: id });
      };`,
      errors: [error('settings')],
    },
    {
      // The insert in a transaction's callback after a read in the enclosing function.
      code: `async function f(db) {
        const rows = await db.selectDistinct({ id: tags.id }).from(tags).where(eq(tags.name, name));
        if (rows.length === 0) await db.transaction(async (tx) => { await tx.insert(tags).values({ name }); });
      }`,
      errors: [error('tags')],
    },
    {
      // Both inside one transaction callback, through a qualified table.
      code: `export function f(db) {
        return db.transaction(async (tx) => {
          const [team] = await tx.select({ id: schema.teams.id }).from(schema.teams).where(eq(schema.teams.slug, slug)).for('update');
          return team ?? tx.insert(schema.teams).values({ slug }).returning();
        });
      }`,
      errors: [{ messageId: 'findThenCreate', data: { table: 'schema.teams', line: 3 } }],
    },
    {
      // A stored builder that never gets its onConflict…
      code: `async function f(db) {
        const [found] = await db.select().from(cards);
        const insert = db.insert(cards).values(values);
        return found ?? insert.returning();
      }`,
      errors: [error('cards')],
    },
  ],
});
