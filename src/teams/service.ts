import { and, asc, desc, eq, getTableColumns, inArray, ne, or, sql } from 'drizzle-orm';
import { alias, QueryBuilder } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client';
import { transaction } from '../db/transaction';
import { forbidden, LockstepError, notFound } from '../errors';
import { insertWithSlug, type SlugTarget } from '../slug/allocate';
import { users, type UserRow } from '../users/schema';
import type { AddTeamMember, CreateTeam, TeamDetailView, TeamMemberView, TeamView, UpdateTeam } from './contract';
import { teamMemberships, teams, type TeamRole, type TeamRow } from './schema';

const teamSlugs: SlugTarget = { namespace: 'teams', table: teams, slugColumn: teams.slug };

/** The roles that manage a team: edit it, add members, co-organize its events. */
export const TEAM_MANAGER_ROLES: readonly TeamRole[] = ['OWNER', 'ADMIN'];
const OWNER_ONLY: readonly TeamRole[] = ['OWNER'];

const subquery = new QueryBuilder();

/**
 * Ids of the teams in which the user holds one of `roles`, as a subquery. Guarded statements put it in their WHERE
 * so the permission check and the write are one statement.
 */
export function teamIdsWhereUserIs(userId: string, roles: readonly TeamRole[]) {
  return subquery
    .select({ id: teamMemberships.teamId })
    .from(teamMemberships)
    .where(and(eq(teamMemberships.userId, userId), inArray(teamMemberships.role, [...roles])));
}

const teamIdBySlug = (slug: string) => subquery.select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));

const ownerIdField = sql<string>`(select ${teamMemberships.userId} from ${teamMemberships}
  where ${teamMemberships.teamId} = ${teams.id} and ${teamMemberships.role} = 'OWNER')`;

/** A membership as the API shows it; usable in SELECT and RETURNING alike. */
const memberFields = {
  userId: teamMemberships.userId,
  role: teamMemberships.role,
  joinedAt: teamMemberships.joinedAt,
  displayName: sql<string | null>`(select ${users.displayName} from ${users} where ${users.id} = ${teamMemberships.userId})`,
};

function teamView(row: TeamRow, ownerId: string): TeamView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    ownerId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function memberView(row: { userId: string; displayName: string | null; role: TeamRole; joinedAt: Date }): TeamMemberView {
  return { userId: row.userId, displayName: row.displayName, role: row.role, joinedAt: row.joinedAt.toISOString() };
}

const memberNotFound = (userId: string) =>
  new LockstepError('member_not_found', `User ${userId} is not a member of this team`, {
    errors: [{ path: 'userId', message: 'Not a member of this team' }],
  });

/** The team and its OWNER membership, in one transaction. */
export async function createTeam(db: Db, owner: UserRow, input: CreateTeam): Promise<TeamView> {
  const { slug: explicitSlug, ...fields } = input;
  return transaction(db, async (tx) => {
    const team = await insertWithSlug(tx, teamSlugs, { name: input.name, explicitSlug }, async (slug) => {
      const [row] = await tx.insert(teams).values({ ...fields, slug }).onConflictDoNothing({ target: teams.slug }).returning();
      return row;
    });
    await tx.insert(teamMemberships).values({ teamId: team.id, userId: owner.id, role: 'OWNER' });
    return teamView(team, owner.id);
  });
}

/** One statement, so the members and the owner come from one snapshot. */
export async function getTeam(db: Db, slug: string): Promise<TeamDetailView> {
  const rows = await db
    .select({ team: teams, member: memberFields })
    .from(teams)
    .innerJoin(teamMemberships, eq(teamMemberships.teamId, teams.id))
    .where(eq(teams.slug, slug))
    .orderBy(desc(sql`${teamMemberships.role} = 'OWNER'`), asc(teamMemberships.joinedAt), asc(teamMemberships.userId));
  const [first] = rows;
  if (!first) throw notFound('Team');
  const members = rows.map((row) => memberView(row.member));
  const owner = members.find((member) => member.role === 'OWNER');
  if (!owner) throw new Error(`team ${first.team.id} has no OWNER membership`);
  return { ...teamView(first.team, owner.userId), members };
}

const RETRY = Symbol('retry');
const GUARDED_ATTEMPTS = 3;

/**
 * A guarded statement checks permission and state and writes in one go. When it matched nothing, `explain` reads
 * why and throws the fitting 4xx; when what it reads would let the write pass (a commit landed between the two
 * statements), the write runs again instead of answering with a reason that no longer holds.
 */
async function guardedWrite<T>(
  write: () => Promise<T | undefined>,
  explain: () => Promise<T | typeof RETRY>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const written = await write();
    if (written !== undefined) return written;
    const explained = await explain();
    if (explained !== RETRY) return explained;
    if (attempt >= GUARDED_ATTEMPTS) throw new Error('guarded write kept missing although its explanation allowed it');
  }
}

const caller = alias(teamMemberships, 'caller');
const target = alias(teamMemberships, 'target');

/** Only to explain a guarded write that matched nothing: 404 for an unknown team, else both roles (null: no member). */
async function teamAccess(db: Db, slug: string, callerId: string, targetId = callerId) {
  const [row] = await db
    .select({ teamId: teams.id, callerRole: caller.role, targetRole: target.role })
    .from(teams)
    .leftJoin(caller, and(eq(caller.teamId, teams.id), eq(caller.userId, callerId)))
    .leftJoin(target, and(eq(target.teamId, teams.id), eq(target.userId, targetId)))
    .where(eq(teams.slug, slug));
  if (!row) throw notFound('Team');
  return row;
}

const holds = (role: TeamRole | null, roles: readonly TeamRole[]) => role !== null && roles.includes(role);

export async function updateTeam(db: Db, user: UserRow, slug: string, patch: UpdateTeam): Promise<TeamView> {
  return guardedWrite(
    async () => {
      const [row] = await db
        .update(teams)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(and(eq(teams.slug, slug), inArray(teams.id, teamIdsWhereUserIs(user.id, TEAM_MANAGER_ROLES))))
        .returning({ ...getTableColumns(teams), ownerId: ownerIdField });
      return row && teamView(row, row.ownerId);
    },
    async () => {
      const { callerRole } = await teamAccess(db, slug, user.id);
      if (!holds(callerRole, TEAM_MANAGER_ROLES)) throw forbidden('Only the team owner and admins may edit the team');
      return RETRY;
    },
  );
}

/** Memberships cascade; the team's events stay, detached (team_id set null by the foreign key). */
export async function deleteTeam(db: Db, user: UserRow, slug: string): Promise<void> {
  await guardedWrite(
    async () => {
      const [row] = await db
        .delete(teams)
        .where(and(eq(teams.slug, slug), inArray(teams.id, teamIdsWhereUserIs(user.id, OWNER_ONLY))))
        .returning({ id: teams.id });
      return row;
    },
    async () => {
      const { callerRole } = await teamAccess(db, slug, user.id);
      if (callerRole !== 'OWNER') throw forbidden('Only the team owner may delete the team');
      return RETRY;
    },
  );
}

/**
 * Insert first: the primary key (team_id, user_id) decides between concurrent adds, and a user already in the
 * team is read in a new statement and answered with `created: false`, role unchanged. An unknown user fails the
 * foreign key, mapped to 404 user_not_found by constraint name.
 */
export async function addTeamMember(
  db: Db,
  user: UserRow,
  slug: string,
  input: AddTeamMember,
): Promise<{ created: boolean; member: TeamMemberView }> {
  // Granting ADMIN is the owner's, as promoting (PATCH) and removing admins are: admins add MEMBERs.
  const mayAdd = input.role === 'ADMIN' ? OWNER_ONLY : TEAM_MANAGER_ROLES;
  return guardedWrite<{ created: boolean; member: TeamMemberView }>(
    async () => {
      const [row] = await db
        .insert(teamMemberships)
        .select((qb) =>
          qb
            .select({
              teamId: teams.id,
              userId: sql`${input.userId}::uuid`.as('user_id'),
              role: sql`${input.role}::team_role`.as('role'),
              joinedAt: sql`now()`.as('joined_at'),
            })
            .from(teams)
            .where(and(eq(teams.slug, slug), inArray(teams.id, teamIdsWhereUserIs(user.id, mayAdd)))),
        )
        .onConflictDoNothing({ target: [teamMemberships.teamId, teamMemberships.userId] })
        .returning(memberFields);
      return row && { created: true, member: memberView(row) };
    },
    async () => {
      const { teamId, callerRole, targetRole } = await teamAccess(db, slug, user.id, input.userId);
      if (!holds(callerRole, mayAdd)) {
        throw forbidden(input.role === 'ADMIN' ? 'Only the team owner may add admins' : 'Only the team owner and admins may add members');
      }
      if (targetRole === null) return RETRY;
      const [existing] = await db
        .select(memberFields)
        .from(teamMemberships)
        .where(and(eq(teamMemberships.teamId, teamId), eq(teamMemberships.userId, input.userId)));
      return existing ? { created: false, member: memberView(existing) } : RETRY;
    },
  );
}

/** Owner only. The owner's own row is excluded by the statement itself: ownership moves only by transfer. */
export async function updateTeamMember(
  db: Db,
  user: UserRow,
  slug: string,
  userId: string,
  role: Exclude<TeamRole, 'OWNER'>,
): Promise<TeamMemberView> {
  return guardedWrite(
    async () => {
      const [row] = await db
        .update(teamMemberships)
        .set({ role })
        .where(
          and(
            inArray(teamMemberships.teamId, teamIdBySlug(slug)),
            eq(teamMemberships.userId, userId),
            ne(teamMemberships.role, 'OWNER'),
            inArray(teamMemberships.teamId, teamIdsWhereUserIs(user.id, OWNER_ONLY)),
          ),
        )
        .returning(memberFields);
      return row && memberView(row);
    },
    async () => {
      const { callerRole, targetRole } = await teamAccess(db, slug, user.id, userId);
      if (callerRole !== 'OWNER') throw forbidden('Only the team owner may change roles');
      if (targetRole === null) throw memberNotFound(userId);
      if (targetRole === 'OWNER') {
        throw new LockstepError(
          'ownership_transfer_required',
          "The owner's role changes only by transferring ownership (POST /teams/{slug}/transfer)",
        );
      }
      return RETRY;
    },
  );
}

/**
 * The owner removes anyone but themself, an admin removes MEMBERs, anyone removes themself; the OWNER row never
 * matches. Permission and the target's role are conditions of the DELETE, re-checked on the locked row.
 */
export async function removeTeamMember(db: Db, user: UserRow, slug: string, userId: string): Promise<void> {
  const self = user.id === userId;
  await guardedWrite(
    async () => {
      const [row] = await db
        .delete(teamMemberships)
        .where(
          and(
            inArray(teamMemberships.teamId, teamIdBySlug(slug)),
            eq(teamMemberships.userId, userId),
            ne(teamMemberships.role, 'OWNER'),
            self
              ? undefined
              : or(
                  inArray(teamMemberships.teamId, teamIdsWhereUserIs(user.id, OWNER_ONLY)),
                  and(
                    eq(teamMemberships.role, 'MEMBER'),
                    inArray(teamMemberships.teamId, teamIdsWhereUserIs(user.id, TEAM_MANAGER_ROLES)),
                  ),
                ),
          ),
        )
        .returning({ userId: teamMemberships.userId });
      return row;
    },
    async () => {
      const { callerRole, targetRole } = await teamAccess(db, slug, user.id, userId);
      if (!self && !holds(callerRole, TEAM_MANAGER_ROLES)) {
        throw forbidden('Only the team owner, admins or the member themself may remove a member');
      }
      if (targetRole === null) throw memberNotFound(userId);
      if (targetRole === 'OWNER') {
        throw new LockstepError('owner_cannot_leave', 'The owner cannot leave the team: transfer ownership first');
      }
      if (!self && callerRole === 'ADMIN' && targetRole === 'ADMIN') throw forbidden('Only the team owner may remove admins');
      return RETRY;
    },
  );
}

/**
 * Each step re-checks its own condition on the row it locks, and any miss throws, rolling back what came before:
 * 1. the team row (edits, deletion and transfers of one team queue on it, always taken first);
 * 2. the caller's row, demoted to ADMIN only while it is still the OWNER, so of two concurrent transfers the
 *    second finds no OWNER row of the caller and gets 403;
 * 3. the new owner's row, promoted only if it still exists, so a member removed meanwhile gets 404.
 * The one-owner index holds at every statement; the owner-required trigger at commit.
 */
export async function transferTeam(db: Db, user: UserRow, slug: string, newOwnerId: string): Promise<TeamView> {
  return transaction(db, async (tx) => {
    const [team] = await tx.update(teams).set({ updatedAt: sql`now()` }).where(eq(teams.slug, slug)).returning();
    if (!team) throw notFound('Team');
    const [demoted] = await tx
      .update(teamMemberships)
      .set({ role: 'ADMIN' })
      .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, user.id), eq(teamMemberships.role, 'OWNER')))
      .returning({ userId: teamMemberships.userId });
    if (!demoted) throw forbidden('Only the team owner may transfer ownership');
    const [promoted] = await tx
      .update(teamMemberships)
      .set({ role: 'OWNER' })
      .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, newOwnerId)))
      .returning({ userId: teamMemberships.userId });
    if (!promoted) throw memberNotFound(newOwnerId);
    return teamView(team, promoted.userId);
  });
}

/**
 * The id of team `slug` when the user is its OWNER or ADMIN, for attaching an event to it. Call it inside the
 * transaction that writes the event: the team row (FOR KEY SHARE) and the caller's membership (FOR SHARE) stay
 * locked until commit, so the team cannot be deleted, nor the caller demoted or removed, before the event is
 * written. The team row first, in the order team deletion and transfer lock.
 */
export async function lockManagedTeam(tx: Db, userId: string, slug: string): Promise<string> {
  const [team] = await tx.select({ id: teams.id }).from(teams).where(eq(teams.slug, slug)).for('key share');
  if (!team) {
    throw new LockstepError('not_found', 'Team not found', { errors: [{ path: 'teamSlug', message: 'No team with this slug' }] });
  }
  const [manager] = await tx
    .select({ role: teamMemberships.role })
    .from(teamMemberships)
    .where(
      and(
        eq(teamMemberships.teamId, team.id),
        eq(teamMemberships.userId, userId),
        inArray(teamMemberships.role, [...TEAM_MANAGER_ROLES]),
      ),
    )
    .for('share');
  if (!manager) throw forbidden("Only the team's owner and admins may attach events to it");
  return team.id;
}
