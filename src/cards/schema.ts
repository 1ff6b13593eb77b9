import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgEnum, pgTable, text, timestamp, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/schema';

/** The unique constraint on cards.slug. */
export const CARD_SLUG_KEY = 'cards_slug_key';

export const cardVisibilityEnum = pgEnum('card_visibility', ['PUBLIC', 'UNLISTED', 'PRIVATE']);

/** A card holds at most this many links: the API limit, also enforced in the database (positions 0..19). */
export const MAX_LINKS_PER_CARD = 20;

/**
 * Card timestamps are taken per statement, not per transaction (`now()`): a create stamps its row only after it
 * holds the owner's row lock, so createdAt follows the order in which creates commit, and "oldest" is the first
 * card that was actually created even when transactions started in another order.
 */
export const statementTime = sql`statement_timestamp()`;

export const cards = pgTable(
  'cards',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Named so a unique violation can be told apart by constraint name.
    slug: text('slug').notNull().unique(CARD_SLUG_KEY),
    title: text('title').notNull(),
    description: text('description'),
    visibility: cardVisibilityEnum('visibility').notNull().default('PUBLIC'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().default(statementTime),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().default(statementTime),
  },
  (table) => [
    // At most one default per user, whatever the code does; "exactly one" comes from the per-user row lock.
    uniqueIndex('cards_one_default_per_user').on(table.userId).where(sql`${table.isDefault}`),
    // The owner's cards oldest first: the list, its keyset cursor and the default handover on delete.
    index('cards_user_created_idx').on(table.userId, table.createdAt, table.id),
    // Lets `slug LIKE 'base-%'` use an index whatever the database collation.
    index('cards_slug_pattern_idx').using('btree', table.slug.op('text_pattern_ops')),
  ],
);

export const cardLinks = pgTable(
  'card_links',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    cardId: uuid('card_id')
      .notNull()
      .references(() => cards.id, { onDelete: 'cascade' }),
    /** 0-based place in the card's list. */
    position: integer('position').notNull(),
    label: text('label').notNull(),
    url: text('url').notNull(),
  },
  (table) => [
    unique('card_links_card_position_key').on(table.cardId, table.position),
    // With the unique (card_id, position) this caps a card at MAX_LINKS_PER_CARD links in the database.
    check('card_links_position_range', sql`${table.position} between 0 and ${sql.raw(String(MAX_LINKS_PER_CARD - 1))}`),
    // Stored links are rendered as hrefs: never a javascript:, data: or relative URL, whatever path wrote them.
    check('card_links_url_http', sql`${table.url} ~* '^https?://'`),
  ],
);

export type CardRow = typeof cards.$inferSelect;
export type CardLinkRow = typeof cardLinks.$inferSelect;
