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
  .register(z.globalRegistry, { id: 'CreateTeam' });

export const UpdateTeam = z.partial(z.strictObject(teamFields)).register(z.globalRegistry, { id: 'UpdateTeam' });

export const AddTeamMember = z.strictObject({ userId: z.uuid(), role: AssignableRole }).register(z.globalRegistry, { id: 'AddTeamMember' });
export const UpdateTeamMember = z.strictObject({ role: AssignableRole }).register(z.globalRegistry, { id: 'UpdateTeamMember' });
export const TransferTeam = z
  .strictObject({ userId: z.uuid().register(z.globalRegistry, { description: 'A member of the team' }) })
  .register(z.globalRegistry, { id: 'TransferTeam' });

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
  .register(z.globalRegistry, { id: 'Team' });

export const TeamMemberView = z
  .object({
    userId: z.uuid(),
    displayName: z.nullable(z.string()),
    role: TeamRole,
    joinedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'TeamMember' });

export const TeamDetailView = z
  .extend(TeamView, {
    members: z.array(TeamMemberView).register(z.globalRegistry, { description: 'The owner first, then by joinedAt' }),
  })
  .register(z.globalRegistry, { id: 'TeamDetail' });

export const TeamSlugParams = z.object({ slug: SlugParam });
export const TeamMemberParams = z.object({ slug: SlugParam, userId: z.uuid() });

export type CreateTeam = z.output<typeof CreateTeam>;
export type UpdateTeam = z.output<typeof UpdateTeam>;
export type AddTeamMember = z.output<typeof AddTeamMember>;
export type TeamView = z.infer<typeof TeamView>;
export type TeamMemberView = z.infer<typeof TeamMemberView>;
export type TeamDetailView = z.infer<typeof TeamDetailView>;
