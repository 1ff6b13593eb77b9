import * as z from 'zod';
import { ExplicitSlug, SlugParam } from '../slug/contract';

export const TeamRole = z.enum(['OWNER', 'ADMIN', 'MEMBER']).meta({ id: 'TeamRole' });
/** OWNER is never assigned directly: ownership moves only by transfer. */
const AssignableRole = z.enum(['ADMIN', 'MEMBER']);

const teamFields = {
  name: z.string().trim().min(3).max(100),
  description: z.string().max(1000).nullable().optional(),
};

export const CreateTeam = z
  .strictObject({
    ...teamFields,
    slug: ExplicitSlug.optional().meta({ description: 'Taken as given (409 slug_taken when taken); derived from name when absent' }),
  })
  .meta({ id: 'CreateTeam' });

export const UpdateTeam = z.strictObject(teamFields).partial().meta({ id: 'UpdateTeam' });

export const AddTeamMember = z.strictObject({ userId: z.uuid(), role: AssignableRole }).meta({ id: 'AddTeamMember' });
export const UpdateTeamMember = z.strictObject({ role: AssignableRole }).meta({ id: 'UpdateTeamMember' });
export const TransferTeam = z
  .strictObject({ userId: z.uuid().meta({ description: 'A member of the team' }) })
  .meta({ id: 'TransferTeam' });

export const TeamView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    ownerId: z.uuid().meta({ description: "The user holding the team's one OWNER membership" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Team' });

export const TeamMemberView = z
  .object({
    userId: z.uuid(),
    displayName: z.string().nullable(),
    role: TeamRole,
    joinedAt: z.iso.datetime(),
  })
  .meta({ id: 'TeamMember' });

export const TeamDetailView = TeamView.extend({
  members: z.array(TeamMemberView).meta({ description: 'The owner first, then by joinedAt' }),
}).meta({ id: 'TeamDetail' });

export const TeamSlugParams = z.object({ slug: SlugParam });
export const TeamMemberParams = z.object({ slug: SlugParam, userId: z.uuid() });

export type CreateTeam = z.output<typeof CreateTeam>;
export type UpdateTeam = z.output<typeof UpdateTeam>;
export type AddTeamMember = z.output<typeof AddTeamMember>;
export type TeamView = z.infer<typeof TeamView>;
export type TeamMemberView = z.infer<typeof TeamMemberView>;
export type TeamDetailView = z.infer<typeof TeamDetailView>;
