import { and, asc, eq, exists, getTableColumns, inArray, ne, not, sql } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import type { Db } from '../db/handle';
import { transaction } from '../db/transaction';
import { LockstepError, notFound } from '../errors';
import { keyset, toPage, type Page } from '../db/keyset';
import { insertWithDerivedSlug, type SlugTarget } from '../slug/allocate';
import { users, type UserRow } from '../users/schema';
import type { CardView, CreateCard, LinksInput, LinkView, UpdateCard } from './contract';
import { cardLinks, cards, statementTime, type CardRow } from './schema';

const cardSlugs: SlugTarget = { namespace: 'cards', table: cards, slugColumn: cards.slug };

interface CardWithLinks extends CardRow {
  links: LinkView[];
}

/** Builds subqueries only. Their columns are table-qualified, unlike raw `sql` inside a single-table selection. */
const subquery = new QueryBuilder();

/** A card's links in position order, computed in the same statement (so the same snapshot) as the card row. */
const linksOfCard = sql<LinkView[]>`coalesce(${subquery
  .select({
    links: sql`json_agg(json_build_object(
      'id', ${cardLinks.id}, 'label', ${cardLinks.label}, 'url', ${cardLinks.url}, 'position', ${cardLinks.position}
    ) order by ${cardLinks.position})`,
  })
  .from(cardLinks)
  .where(eq(cardLinks.cardId, cards.id))}, '[]'::json)`;

const cardWithLinks = { ...getTableColumns(cards), links: linksOfCard };

export function cardView(card: CardWithLinks): CardView {
  return {
    id: card.id,
    slug: card.slug,
    title: card.title,
    description: card.description,
    visibility: card.visibility,
    isDefault: card.isDefault,
    links: card.links.map(({ id, label, url, position }) => ({ id, label, url, position })),
    createdAt: card.createdAt.toISOString(),
    updatedAt: card.updatedAt.toISOString(),
  };
}

const ownedBy = (user: UserRow, cardId: string) => and(eq(cards.id, cardId), eq(cards.userId, user.id));

/**
 * Every create, delete and set-default of one user's cards first takes this lock in its transaction, so they run
 * one at a time per user and each decides "first card", "last card" and "which default" on settled rows.
 */
async function lockOwner(tx: Db, user: UserRow): Promise<void> {
  await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for('no key update');
}

async function insertLinks(tx: Db, cardId: string, links: LinksInput): Promise<LinkView[]> {
  if (links.length === 0) return [];
  const rows = await tx
    .insert(cardLinks)
    .values(links.map((link, position) => ({ ...link, cardId, position })))
    .returning();
  return rows.sort((a, b) => a.position - b.position);
}

export async function createCard(db: Db, owner: UserRow, input: CreateCard): Promise<CardView> {
  const { links, ...fields } = input;
  return transaction(db, async (tx) => {
    await lockOwner(tx, owner);
    // Decided by the INSERT itself, after the lock: the first card is the default.
    const ownerHasCards = tx.select({ id: cards.id }).from(cards).where(eq(cards.userId, owner.id));
    const card = await insertWithDerivedSlug(tx, cardSlugs, fields.title, async (slug) => {
      const [row] = await tx
        .insert(cards)
        .values({ ...fields, slug, userId: owner.id, isDefault: not(exists(ownerHasCards)) })
        .onConflictDoNothing({ target: cards.slug })
        .returning();
      return row;
    });
    return cardView({ ...card, links: await insertLinks(tx, card.id, links) });
  });
}

const oldestFirst = keyset(cards.createdAt, cards.id);

/** The caller's cards, oldest first; keyset-paginated on (createdAt, id). */
export async function listCards(db: Db, user: UserRow, query: { limit: number; cursor?: string }): Promise<Page<CardView>> {
  const rows = await db
    .select({ ...cardWithLinks, cursorTime: oldestFirst.cursorTime })
    .from(cards)
    .where(and(eq(cards.userId, user.id), oldestFirst.after(query.cursor)))
    .orderBy(...oldestFirst.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, cardView, oldestFirst.key);
}

/** The caller's own card; someone else's is as absent as a missing one. */
export async function getCard(db: Db, user: UserRow, cardId: string): Promise<CardView> {
  const [card] = await db.select(cardWithLinks).from(cards).where(ownedBy(user, cardId));
  if (!card) throw notFound('Card');
  return cardView(card);
}

/** Anyone may read PUBLIC and UNLISTED cards; a PRIVATE card answers exactly like a missing one. */
export async function getPublicCard(db: Db, slug: string): Promise<CardView> {
  const [card] = await db
    .select(cardWithLinks)
    .from(cards)
    .where(and(eq(cards.slug, slug), ne(cards.visibility, 'PRIVATE')));
  if (!card) throw notFound('Card');
  return cardView(card);
}

export async function updateCard(db: Db, user: UserRow, cardId: string, patch: UpdateCard): Promise<CardView> {
  if (Object.keys(patch).length === 0) return getCard(db, user, cardId);
  const [card] = await db
    .update(cards)
    .set({ ...patch, updatedAt: statementTime })
    .where(ownedBy(user, cardId))
    .returning(cardWithLinks);
  if (!card) throw notFound('Card');
  return cardView(card);
}

/**
 * The whole list is replaced or nothing is. The UPDATE comes first and locks the card row, so concurrent
 * replacements of one card queue behind each other: each deletes exactly the links the previous one committed.
 */
export async function replaceCardLinks(db: Db, user: UserRow, cardId: string, links: LinksInput): Promise<CardView> {
  return transaction(db, async (tx) => {
    const [card] = await tx.update(cards).set({ updatedAt: statementTime }).where(ownedBy(user, cardId)).returning();
    if (!card) throw notFound('Card');
    await tx.delete(cardLinks).where(eq(cardLinks.cardId, cardId));
    return cardView({ ...card, links: await insertLinks(tx, cardId, links) });
  });
}

export async function setDefaultCard(db: Db, user: UserRow, cardId: string): Promise<CardView> {
  return transaction(db, async (tx) => {
    await lockOwner(tx, user);
    // Clear, then set: the partial unique index is checked per row, so setting first would collide with the old
    // default. A card that is not the caller's throws below and rolls the clear back.
    await tx
      .update(cards)
      .set({ isDefault: false, updatedAt: statementTime })
      .where(and(eq(cards.userId, user.id), eq(cards.isDefault, true), ne(cards.id, cardId)));
    const [card] = await tx
      .update(cards)
      .set({ isDefault: true, updatedAt: statementTime })
      .where(ownedBy(user, cardId))
      .returning(cardWithLinks);
    if (!card) throw notFound('Card');
    return cardView(card);
  });
}

/** Deletes the card unless it is the user's last; a deleted default passes to the oldest remaining card. */
export async function deleteCard(db: Db, user: UserRow, cardId: string): Promise<void> {
  await transaction(db, async (tx) => {
    await lockOwner(tx, user);
    const anotherCard = tx
      .select({ id: cards.id })
      .from(cards)
      .where(and(eq(cards.userId, user.id), ne(cards.id, cardId)));
    const [deleted] = await tx
      .delete(cards)
      .where(and(ownedBy(user, cardId), exists(anotherCard)))
      .returning({ isDefault: cards.isDefault });
    if (!deleted) return explainNoDelete(tx, user, cardId);
    if (deleted.isDefault) {
      const oldest = tx
        .select({ id: cards.id })
        .from(cards)
        .where(eq(cards.userId, user.id))
        .orderBy(asc(cards.createdAt), asc(cards.id))
        .limit(1);
      await tx.update(cards).set({ isDefault: true, updatedAt: statementTime }).where(inArray(cards.id, oldest));
    }
  });
}

/** After a guarded delete matched nothing: 404 if the caller has no such card, else it is their last one. */
async function explainNoDelete(tx: Db, user: UserRow, cardId: string): Promise<never> {
  const [card] = await tx.select({ id: cards.id }).from(cards).where(ownedBy(user, cardId));
  if (!card) throw notFound('Card');
  throw new LockstepError('last_card', 'This is your last card: create another one before deleting it');
}
