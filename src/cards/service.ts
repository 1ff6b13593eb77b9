import { and, asc, eq, exists, getTableColumns, inArray, ne, not, sql, type SQL } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import type { Db } from '../db/handle';
import { transaction } from '../db/transaction';
import { LockstepError, notFound } from '../errors';
import { keyset, toPage, type Page } from '../db/keyset';
import { isConstraintViolation } from '../db/errors';
import { insertWithDerivedSlug, insertWithSecretSlug, type InsertWithSlug, type SlugTarget } from '../slug/allocate';
import { users, type UserRow } from '../users/schema';
import type { CardView, CardVisibility, CreateCard, LinksInput, LinkView, UpdateCard } from './contract';
import { CARD_SLUG_KEY, cardLinks, cards, statementTime, type CardRow } from './schema';

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

/**
 * A PUBLIC card's slug is derived from its title, for people to read and share. An UNLISTED or PRIVATE card gets
 * an unguessable one (128 random bits): a title-derived slug could be guessed from the title, and UNLISTED would
 * hide nothing.
 */
function allocateSlug<Row>(tx: Db, card: { title: string; visibility: CardVisibility }, attempt: InsertWithSlug<Row>): Promise<Row> {
  return card.visibility === 'PUBLIC' ? insertWithDerivedSlug(tx, cardSlugs, card.title, attempt) : insertWithSecretSlug(attempt);
}

export async function createCard(db: Db, owner: UserRow, input: CreateCard): Promise<CardView> {
  const { links, ...fields } = input;
  return transaction(db, async (tx) => {
    await lockOwner(tx, owner);
    // Decided by the INSERT itself, after the lock: the first card is the default.
    const ownerHasCards = tx.select({ id: cards.id }).from(cards).where(eq(cards.userId, owner.id));
    const card = await allocateSlug(tx, fields, async (slug) => {
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

/**
 * A change between PUBLIC and UNLISTED or PRIVATE gives the card a new slug of the other kind (see `allocateSlug`),
 * and the old one stops working: a once-public slug must not find a card that is no longer public, and a public
 * card is found by its title. UNLISTED and PRIVATE keep their slug between them. The card row is locked first, so
 * concurrent changes of one card each decide on the visibility the previous one left.
 */
export async function updateCard(db: Db, user: UserRow, cardId: string, patch: UpdateCard): Promise<CardView> {
  if (Object.keys(patch).length === 0) return getCard(db, user, cardId);
  const { visibility } = patch;
  if (visibility === undefined) {
    const [card] = await setCard(db, ownedBy(user, cardId), patch);
    if (!card) throw notFound('Card');
    return cardView(card);
  }
  return transaction(db, async (tx) => {
    const [current] = await tx.select().from(cards).where(ownedBy(user, cardId)).for('update');
    if (!current) throw notFound('Card');
    const mine = eq(cards.id, cardId);
    if ((current.visibility === 'PUBLIC') === (visibility === 'PUBLIC')) return cardView((await setCard(tx, mine, patch))[0]!);
    const card = { title: patch.title ?? current.title, visibility };
    return cardView(await allocateSlug(tx, card, (slug) => unlessSlugTaken(tx, () => setCard(tx, mine, { ...patch, slug }))));
  });
}

const setCard = (db: Db, which: SQL | undefined, values: UpdateCard & { slug?: string }) =>
  db.update(cards).set({ ...values, updatedAt: statementTime }).where(which).returning(cardWithLinks);

/**
 * The slug allocator's attempt for a card that exists: an UPDATE has no ON CONFLICT, so a taken slug is rolled
 * back to a savepoint and answered `undefined`, and the transaction goes on to the next slug.
 */
async function unlessSlugTaken<Row>(tx: Db, update: () => Promise<Row[]>): Promise<Row | undefined> {
  await tx.execute(sql`savepoint card_slug`);
  try {
    const [row] = await update();
    await tx.execute(sql`release savepoint card_slug`);
    return row;
  } catch (err) {
    if (!isConstraintViolation(err, CARD_SLUG_KEY)) throw err;
    await tx.execute(sql`rollback to savepoint card_slug`);
    return undefined;
  }
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
