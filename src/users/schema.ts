import { sql } from 'drizzle-orm';
import { boolean, check, pgEnum, pgTable, real, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** The identity provider's subject: the only identity lockstep trusts. */
  sub: text('sub').notNull().unique('users_sub_key'),
  email: text('email'),
  displayName: text('display_name'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export const themeEnum = pgEnum('theme', ['system', 'light', 'dark']);

export const userSettings = pgTable(
  'user_settings',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    theme: themeEnum('theme').notNull().default('system'),
    reducedMotion: boolean('reduced_motion').notNull().default(false),
    fontScale: real('font_scale').notNull().default(1),
    locale: text('locale').notNull().default('en'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [check('user_settings_font_scale_range', sql`${table.fontScale} between 0.5 and 3`)],
);

export type UserRow = typeof users.$inferSelect;
export type UserSettingsRow = typeof userSettings.$inferSelect;
