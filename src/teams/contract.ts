import * as z from 'zod/mini';
import { ExplicitSlug, SlugParam } from '../slug/contract';

export const TeamRole = z.enum(['OWNER', 'ADMIN', 'MEMBER']).register(z.globalRegistry, { id: 'TeamRole' });
/** OWNER is never assigned directly: ownership moves only by transfer. */
const AssignableRole = z.enum(['ADMIN', 'MEMBER']);

const teamFields = {
  name: z.string().check(z.trim(), z.minLength(3), z.maxLength(100)),
  description: z.optional(z.nullable(z.string().check(z.maxLength(1000)))),
};

export const CreateTeam = z
  .strictObject({
    ...teamFields,
    slug: z.optional(ExplicitSlug).register(z.globalRegistry, { description: 'Taken as given (409 slug_taken when taken); derived from name when absent' }),
  })
  .register(z.globalRegistry, { id: 'CreateTeam', examples: [{ name: 'Platform Team', description: 'Runs the meetups' }] });

export const UpdateTeam = z
  .partial(z.strictObject(teamFields))
  .register(z.globalRegistry, { id: 'UpdateTeam', examples: [{ description: 'Runs the Berlin meetups' }] });

export const AddTeamMember = z
  .strictObject({ userId: z.uuid(), role: AssignableRole })
  .register(z.globalRegistry, { id: 'AddTeamMember', examples: [{ userId: '7a9d2c4b-1e3f-4a5b-8c6d-9e0f1a2b3c4d', role: 'MEMBER' }] });
export const UpdateTeamMember = z
  .strictObject({ role: AssignableRole })
  .register(z.globalRegistry, { id: 'UpdateTeamMember', examples: [{ role: 'ADMIN' }] });
export const TransferTeam = z
  .strictObject({ userId: z.uuid().register(z.globalRegistry, { description: 'A member of the team' }) })
  .register(z.globalRegistry, { id: 'TransferTeam', examples: [{ userId: '7a9d2c4b-1e3f-4a5b-8c6d-9e0f1a2b3c4d' }] });

/** The team and members the examples of the API reference show: Alice owns it, Bob is a member. */
const teamExample = {
  id: '9e2b4d6f-8a0c-4e1b-a3c5-d7e9f1b3c5a7',
  slug: 'platform-team',
  name: 'Platform Team',
  description: 'Runs the meetups',
  ownerId: '3f1c6a2e-8b4d-4f6a-9c1e-2d7b5a9e0c41',
  createdAt: '2027-01-12T12:00:00.000Z',
  updatedAt: '2027-01-12T12:00:00.000Z',
};
const memberExample = { userId: '7a9d2c4b-1e3f-4a5b-8c6d-9e0f1a2b3c4d', displayName: 'Bob', role: 'MEMBER' as const, joinedAt: '2027-01-13T09:30:00.000Z' };

export const TeamView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    description: z.nullable(z.string()),
    ownerId: z.uuid().register(z.globalRegistry, { description: "The user holding the team's one OWNER membership" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'Team', examples: [teamExample] });

export const TeamMemberView = z
  .object({
    userId: z.uuid(),
    displayName: z.nullable(z.string()),
    role: TeamRole,
    joinedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'TeamMember', examples: [memberExample] });

export const TeamDetailView = z
  .extend(TeamView, {
    members: z.array(TeamMemberView).register(z.globalRegistry, { description: 'The owner first, then by joinedAt' }),
  })
  .register(z.globalRegistry, {
    id: 'TeamDetail',
    examples: [
      {
        ...teamExample,
        members: [{ userId: '3f1c6a2e-8b4d-4f6a-9c1e-2d7b5a9e0c41', displayName: 'Alice', role: 'OWNER' as const, joinedAt: '2027-01-12T12:00:00.000Z' }, memberExample],
      },
    ],
  });

export const TeamSlugParams = z.object({ slug: SlugParam }).register(z.globalRegistry, { examples: [{ slug: 'platform-team' }] });
export const TeamMemberParams = z
  .object({ slug: SlugParam, userId: z.uuid() })
  .register(z.globalRegistry, { examples: [{ slug: 'platform-team', userId: '7a9d2c4b-1e3f-4a5b-8c6d-9e0f1a2b3c4d' }] });

export type CreateTeam = z.output<typeof CreateTeam>;
export type UpdateTeam = z.output<typeof UpdateTeam>;
export type AddTeamMember = z.output<typeof AddTeamMember>;
export type TeamView = z.infer<typeof TeamView>;
export type TeamMemberView = z.infer<typeof TeamMemberView>;
export type TeamDetailView = z.infer<typeof TeamDetailView>;
