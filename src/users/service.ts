import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import { cards } from '../cards/schema';
import { insertOrReread } from '../db/get-or-create';
import type { Db } from '../db/handle';
import type { Identity, SettingsView, UpdateMe, UpdateSettings, UserView } from './contract';
import { users, userSettings, type UserRow, type UserSettingsRow } from './schema';

/**
 * Get-or-create in one statement for the usual cases: the insert (ON CONFLICT DO NOTHING) and, in the same
 * statement, a select of the stored row; the re-read covers a concurrent first insert.
 */
async function insertOrSelect<Row>(attempt: () => PromiseLike<Row[]>, reread: () => PromiseLike<Row[]>): Promise<Row> {
  const got = await insertOrReread(attempt, reread);
  if (!got) throw new Error('a row vanished between its insert and the re-read');
  return got.row;
}

/** The user row for a token's subject, created on first sight; the unique index on `sub` decides races. */
export async function ensureUser(db: Db, identity: Identity): Promise<UserRow> {
  const existing = () => db.select().from(users).where(eq(users.sub, identity.sub));
  const created = db.$with('created').as(
    db
      .insert(users)
      .values({ sub: identity.sub, email: identity.email ?? null, displayName: identity.name ?? null })
      .onConflictDoNothing({ target: users.sub })
      .returning(),
  );
  const either = db.$with('either').as(db.select().from(created).unionAll(existing()));
  return insertOrSelect(() => db.with(created, either).select().from(either).limit(1), existing);
}

export function userView(user: UserRow, defaultCardId: string | null = null): UserView {
  return {
    id: user.id,
    sub: user.sub,
    email: user.email,
    displayName: user.displayName,
    defaultCardId,
    createdAt: user.createdAt.toISOString(),
  };
}

/** The user row with its default card's id, in one statement: the subquery probes cards_one_default_per_user. */
const userWithDefaultCard = {
  ...getTableColumns(users),
  defaultCardId: sql<string | null>`${new QueryBuilder()
    .select({ id: cards.id })
    .from(cards)
    .where(and(eq(cards.userId, users.id), sql`${cards.isDefault}`))}`,
};

export async function getMe(db: Db, user: UserRow): Promise<UserView> {
  const [me] = await db.select(userWithDefaultCard).from(users).where(eq(users.id, user.id));
  return userView(me ?? user, me?.defaultCardId ?? null);
}

export async function updateMe(db: Db, user: UserRow, patch: UpdateMe): Promise<UserView> {
  if (patch.displayName === undefined && patch.email === undefined) return getMe(db, user);
  const [updated] = await db
    .update(users)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(users.id, user.id))
    .returning(userWithDefaultCard);
  return userView(updated ?? user, updated?.defaultCardId ?? null);
}

function settingsView(row: UserSettingsRow): SettingsView {
  return { theme: row.theme, reducedMotion: row.reducedMotion, fontScale: row.fontScale, locale: row.locale };
}

/** Defaults are created on first read, insert-first like `ensureUser`. */
export async function getSettings(db: Db, user: UserRow): Promise<SettingsView> {
  const existing = () => db.select().from(userSettings).where(eq(userSettings.userId, user.id));
  const created = db.$with('created').as(
    db.insert(userSettings).values({ userId: user.id }).onConflictDoNothing({ target: userSettings.userId }).returning(),
  );
  const either = db.$with('either').as(db.select().from(created).unionAll(existing()));
  return settingsView(await insertOrSelect(() => db.with(created, either).select().from(either).limit(1), existing));
}

/** One upsert: creates the row with defaults for absent fields, or changes only the given fields. */
export async function updateSettings(db: Db, user: UserRow, patch: UpdateSettings): Promise<SettingsView> {
  const [row] = await db
    .insert(userSettings)
    .values({ userId: user.id, ...patch })
    .onConflictDoUpdate({ target: userSettings.userId, set: { ...patch, updatedAt: sql`now()` } })
    .returning();
  return settingsView(row!);
}
