import { sql } from 'drizzle-orm';
import { foreignKey, index, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/schema';

export const teamRoleEnum = pgEnum('team_role', ['OWNER', 'ADMIN', 'MEMBER']);

/** The owner is not stored here: it is the team's one OWNER membership, so the two can never disagree. */
export const teams = pgTable(
  'teams',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Named so a unique violation maps to `slug_taken` by constraint name.
    slug: text('slug').notNull().unique('teams_slug_key'),
    name: text('name').notNull(),
    description: text('description'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  // Lets `slug LIKE 'base-%'` use an index whatever the database collation.
  (table) => [index('teams_slug_pattern_idx').using('btree', table.slug.op('text_pattern_ops'))],
);

/**
 * Exactly one OWNER per team: at most one by the partial unique index below, at least one by the deferred
 * constraint trigger of migration 0005 (checked at commit, so a transfer may demote before it promotes).
 */
export const teamMemberships = pgTable(
  'team_memberships',
  {
    teamId: uuid('team_id').notNull(),
    userId: uuid('user_id').notNull(),
    role: teamRoleEnum('role').notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'team_memberships_pkey', columns: [table.teamId, table.userId] }),
    foreignKey({ name: 'team_memberships_team_id_fkey', columns: [table.teamId], foreignColumns: [teams.id] }).onDelete(
      'cascade',
    ),
    // Named so adding an unknown user maps to `user_not_found` without reading the users table first.
    foreignKey({ name: 'team_memberships_user_id_fkey', columns: [table.userId], foreignColumns: [users.id] }).onDelete(
      'cascade',
    ),
    uniqueIndex('team_memberships_one_owner_key').on(table.teamId).where(sql`${table.role} = 'OWNER'`),
    index('team_memberships_user_idx').on(table.userId, table.role),
  ],
);

export type TeamRow = typeof teams.$inferSelect;
export type TeamMembershipRow = typeof teamMemberships.$inferSelect;
export type TeamRole = TeamMembershipRow['role'];
