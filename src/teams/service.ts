import { and, asc, desc, eq, getTableColumns, inArray, ne, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { transaction } from '../db/transaction';
import { forbidden, LockstepError, notFound } from '../errors';
import { insertWithSlug, type SlugTarget } from '../slug/allocate';
import { users, type UserRow } from '../users/schema';
import type { AddTeamMember, CreateTeam, TeamDetailView, TeamMemberView, TeamView, UpdateTeam } from './contract';
import { teamMemberships, teams, type TeamRole, type TeamRow } from './schema';

const teamSlugs: SlugTarget = { namespace: 'teams', table: teams, slugColumn: teams.slug };

/** The roles that manage a team: edit it, add members, co-organize its events. */
export const TEAM_MANAGER_ROLES: readonly TeamRole[] = ['OWNER', 'ADMIN'];

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

type LockStrength = 'update' | 'no key update' | 'share';

/**
 * Every write to a team or its memberships starts here. The team row first, in a strength that conflicts with
 * every other team write (transfers, edits and deletion take it exclusively, membership changes shared), then the
 * caller's membership FOR SHARE: the role the permission check reads cannot change before this commits. Statements
 * re-check only the row they wait for, never a subquery, so permissions are read under these locks instead.
 */
async function lockTeam(tx: Db, slug: string, callerId: string, strength: LockStrength) {
  const [team] = await tx.select().from(teams).where(eq(teams.slug, slug)).for(strength);
  if (!team) throw notFound('Team');
  const [caller] = await tx
    .select({ role: teamMemberships.role })
    .from(teamMemberships)
    .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, callerId)))
    .for('share');
  return { team, callerRole: caller?.role ?? null };
}

const holds = (role: TeamRole | null, roles: readonly TeamRole[]) => role !== null && roles.includes(role);

const ownerCannotLeave = () =>
  new LockstepError('owner_cannot_leave', 'The owner cannot leave the team: transfer ownership first');

export async function updateTeam(db: Db, user: UserRow, slug: string, patch: UpdateTeam): Promise<TeamView> {
  return transaction(db, async (tx) => {
    const { team, callerRole } = await lockTeam(tx, slug, user.id, 'no key update');
    if (!holds(callerRole, TEAM_MANAGER_ROLES)) throw forbidden('Only the team owner and admins may edit the team');
    const [row] = await tx
      .update(teams)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(teams.id, team.id))
      .returning({ ...getTableColumns(teams), ownerId: ownerIdField });
    return teamView(row!, row!.ownerId);
  });
}

/** Memberships cascade; the team's events stay, detached (team_id set null by the foreign key). */
export async function deleteTeam(db: Db, user: UserRow, slug: string): Promise<void> {
  await transaction(db, async (tx) => {
    const { team, callerRole } = await lockTeam(tx, slug, user.id, 'update');
    if (callerRole !== 'OWNER') throw forbidden('Only the team owner may delete the team');
    await tx.delete(teams).where(eq(teams.id, team.id));
  });
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
  return transaction(db, async (tx) => {
    const { team, callerRole } = await lockTeam(tx, slug, user.id, 'share');
    if (!holds(callerRole, TEAM_MANAGER_ROLES)) throw forbidden('Only the team owner and admins may add members');
    const [created] = await tx
      .insert(teamMemberships)
      .values({ teamId: team.id, userId: input.userId, role: input.role })
      .onConflictDoNothing({ target: [teamMemberships.teamId, teamMemberships.userId] })
      .returning(memberFields);
    if (created) return { created: true, member: memberView(created) };
    const [existing] = await tx
      .select(memberFields)
      .from(teamMemberships)
      .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, input.userId)));
    if (!existing) throw new Error('membership vanished between its conflict and the re-read');
    return { created: false, member: memberView(existing) };
  });
}

/** Owner only. The owner's own row is excluded: ownership moves only by transfer. */
export async function updateTeamMember(
  db: Db,
  user: UserRow,
  slug: string,
  userId: string,
  role: Exclude<TeamRole, 'OWNER'>,
): Promise<TeamMemberView> {
  return transaction(db, async (tx) => {
    const { team, callerRole } = await lockTeam(tx, slug, user.id, 'share');
    if (callerRole !== 'OWNER') throw forbidden('Only the team owner may change roles');
    const [row] = await tx
      .update(teamMemberships)
      .set({ role })
      .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, userId), ne(teamMemberships.role, 'OWNER')))
      .returning(memberFields);
    if (row) return memberView(row);
    if (userId !== user.id) throw memberNotFound(userId);
    throw new LockstepError(
      'ownership_transfer_required',
      "The owner's role changes only by transferring ownership (POST /teams/{slug}/transfer)",
    );
  });
}

/** The owner and admins remove anyone but the owner; any member removes themself; the owner cannot leave. */
export async function removeTeamMember(db: Db, user: UserRow, slug: string, userId: string): Promise<void> {
  await transaction(db, async (tx) => {
    const self = user.id === userId;
    const { team, callerRole } = await lockTeam(tx, slug, user.id, 'share');
    if (!self && !holds(callerRole, TEAM_MANAGER_ROLES)) {
      throw forbidden('Only the team owner, admins or the member themself may remove a member');
    }
    if (self && callerRole === 'OWNER') throw ownerCannotLeave();
    const [removed] = await tx
      .delete(teamMemberships)
      .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, userId), ne(teamMemberships.role, 'OWNER')))
      .returning({ userId: teamMemberships.userId });
    if (removed) return;
    const [target] = await tx
      .select({ role: teamMemberships.role })
      .from(teamMemberships)
      .where(and(eq(teamMemberships.teamId, team.id), eq(teamMemberships.userId, userId)));
    throw target?.role === 'OWNER' ? ownerCannotLeave() : memberNotFound(userId);
  });
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

/** Whether the user is an OWNER or ADMIN of the team; with `lock`, the membership stays as read until commit. */
export async function isTeamManager(db: Db, teamId: string, userId: string, options: { lock: boolean }): Promise<boolean> {
  const query = db
    .select({ role: teamMemberships.role })
    .from(teamMemberships)
    .where(
      and(
        eq(teamMemberships.teamId, teamId),
        eq(teamMemberships.userId, userId),
        inArray(teamMemberships.role, [...TEAM_MANAGER_ROLES]),
      ),
    );
  const [manager] = options.lock ? await query.for('share') : await query;
  return manager !== undefined;
}

/**
 * The team `where` picks, locked FOR KEY SHARE, and whether the user manages it, with their membership locked FOR
 * SHARE: both until commit, the team row first, in the order deleting or transferring the team locks them.
 */
async function lockTeamForManager(tx: Db, where: SQL, userId: string): Promise<{ id: string; manages: boolean } | undefined> {
  const [team] = await tx.select({ id: teams.id }).from(teams).where(where).for('key share');
  return team && { id: team.id, manages: await isTeamManager(tx, team.id, userId, { lock: true }) };
}

/**
 * Whether the user manages team `teamId`, under the locks of `lockTeamForManager`: an event write by a co-organizer
 * takes them before the event row, in the order deleting the team does.
 */
export async function lockTeamManager(tx: Db, teamId: string, userId: string): Promise<boolean> {
  return (await lockTeamForManager(tx, eq(teams.id, teamId), userId))?.manages ?? false;
}

/**
 * The id of team `slug` when the user is its OWNER or ADMIN, for attaching an event to it. Call it inside the
 * transaction that writes the event: its locks (`lockTeamForManager`) hold until commit, so the team cannot be
 * deleted, nor the caller demoted or removed, before the event is written.
 */
export async function lockManagedTeam(tx: Db, userId: string, slug: string): Promise<string> {
  const team = await lockTeamForManager(tx, eq(teams.slug, slug), userId);
  if (!team) {
    throw new LockstepError('not_found', 'Team not found', { errors: [{ path: 'teamSlug', message: 'No team with this slug' }] });
  }
  if (!team.manages) throw forbidden("Only the team's owner and admins may attach events to it");
  return team.id;
}
