import { defineRoute } from '../contract/route';
import {
  AddTeamMember,
  CreateTeam,
  TeamDetailView,
  TeamMemberParams,
  TeamMemberView,
  TeamSlugParams,
  TeamView,
  TransferTeam,
  UpdateTeam,
  UpdateTeamMember,
} from './contract';

export const createTeamRoute = defineRoute({
  operationId: 'createTeam',
  method: 'POST',
  path: '/teams',
  summary: 'Create a team; the caller becomes its OWNER',
  description:
    'The team and the OWNER membership are written in one transaction. The slug is derived from the name (name, name-2, name-3, ... without bound) unless an explicit `slug` is given, which is used as-is or refused with 409 slug_taken. The slug never changes afterwards.',
  auth: 'required',
  body: CreateTeam,
  responses: { 201: TeamView },
  errors: ['validation_failed', 'slug_taken', 'unauthorized'],
});

export const getTeamRoute = defineRoute({
  operationId: 'getTeam',
  method: 'GET',
  path: '/teams/{slug}',
  summary: 'Get a team with its members (public)',
  description: 'Members are listed owner first, then by joinedAt (oldest first). Team and members come from one snapshot.',
  auth: 'none',
  params: TeamSlugParams,
  responses: { 200: TeamDetailView },
  errors: ['not_found'],
});

export const updateTeamRoute = defineRoute({
  operationId: 'updateTeam',
  method: 'PATCH',
  path: '/teams/{slug}',
  summary: 'Change the name or description (owner, admin)',
  description: 'The slug never changes. `description: null` clears it. Anyone else gets 403; an unknown team 404.',
  auth: 'required',
  params: TeamSlugParams,
  body: UpdateTeam,
  responses: { 200: TeamView },
  errors: ['validation_failed', 'unauthorized', 'forbidden', 'not_found'],
});

export const deleteTeamRoute = defineRoute({
  operationId: 'deleteTeam',
  method: 'DELETE',
  path: '/teams/{slug}',
  summary: 'Delete a team (owner)',
  description:
    "Its memberships are deleted with it. Its events are kept, detached (teamId becomes null), so only their organizer manages them afterwards.",
  auth: 'required',
  params: TeamSlugParams,
  responses: { 204: null },
  errors: ['unauthorized', 'forbidden', 'not_found'],
});

export const addTeamMemberRoute = defineRoute({
  operationId: 'addTeamMember',
  method: 'POST',
  path: '/teams/{slug}/members',
  summary: 'Add a member (owner, admin)',
  description:
    'Idempotent: 201 with the new member, or 200 with the existing member when the user is already in the team (its role is left unchanged; use PATCH to change it). Concurrent adds of one user create one membership. An unknown userId: 404 user_not_found.',
  auth: 'required',
  params: TeamSlugParams,
  body: AddTeamMember,
  responses: { 201: TeamMemberView, 200: TeamMemberView },
  errors: ['validation_failed', 'unauthorized', 'forbidden', 'not_found', 'user_not_found'],
});

export const updateTeamMemberRoute = defineRoute({
  operationId: 'updateTeamMember',
  method: 'PATCH',
  path: '/teams/{slug}/members/{userId}',
  summary: "Change a member's role to ADMIN or MEMBER (owner)",
  description:
    "The owner's own membership cannot be changed this way: 409 ownership_transfer_required (ownership moves only by POST /teams/{slug}/transfer). A user who is not a member: 404 member_not_found.",
  auth: 'required',
  params: TeamMemberParams,
  body: UpdateTeamMember,
  responses: { 200: TeamMemberView },
  errors: ['validation_failed', 'unauthorized', 'forbidden', 'not_found', 'member_not_found', 'ownership_transfer_required'],
});

export const removeTeamMemberRoute = defineRoute({
  operationId: 'removeTeamMember',
  method: 'DELETE',
  path: '/teams/{slug}/members/{userId}',
  summary: 'Remove a member (owner, admin, or the member themself)',
  description:
    'The owner and admins remove any member but the owner; every member may leave. The owner is never removed: 409 owner_cannot_leave (transfer ownership first). A user who is not a member: 404 member_not_found.',
  auth: 'required',
  params: TeamMemberParams,
  responses: { 204: null },
  errors: ['unauthorized', 'forbidden', 'not_found', 'member_not_found', 'owner_cannot_leave'],
});

export const transferTeamRoute = defineRoute({
  operationId: 'transferTeam',
  method: 'POST',
  path: '/teams/{slug}/transfer',
  summary: 'Transfer ownership to a member (owner)',
  description:
    'In one transaction the new owner becomes OWNER and the old one ADMIN; the team\'s updatedAt changes. `userId` must be a member at that moment: otherwise 404 member_not_found and nothing changes. Of two concurrent transfers the second gets 403, since the caller is no longer the owner. Transferring to oneself changes nothing.',
  auth: 'required',
  params: TeamSlugParams,
  body: TransferTeam,
  responses: { 200: TeamView },
  errors: ['validation_failed', 'unauthorized', 'forbidden', 'not_found', 'member_not_found'],
});
