import { examples } from '../contract/examples';
import { organizerId } from '../users/examples';
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

/** Platform Team: Alice owns it, Bob is a member. */
const team = {
  id: '9e2b4d6f-8a0c-4e1b-a3c5-d7e9f1b3c5a7',
  slug: 'platform-team',
  name: 'Platform Team',
  description: 'Runs the meetups',
  ownerId: organizerId,
  createdAt: '2027-01-12T12:00:00.000Z',
  updatedAt: '2027-01-12T12:00:00.000Z',
};
const bob = '7a9d2c4b-1e3f-4a5b-8c6d-9e0f1a2b3c4d';
const member = { userId: bob, displayName: 'Bob', role: 'MEMBER' as const, joinedAt: '2027-01-13T09:30:00.000Z' };
const owner = { userId: organizerId, displayName: 'Alice', role: 'OWNER' as const, joinedAt: team.createdAt };

examples(CreateTeam, { name: 'Platform Team', description: 'Runs the meetups' });
examples(UpdateTeam, { description: 'Runs the Berlin meetups' });
examples(AddTeamMember, { userId: bob, role: 'MEMBER' });
examples(UpdateTeamMember, { role: 'ADMIN' });
examples(TransferTeam, { userId: bob });
examples(TeamView, team);
examples(TeamMemberView, member);
examples(TeamDetailView, { ...team, members: [owner, member] });
examples(TeamSlugParams, { slug: team.slug });
examples(TeamMemberParams, { slug: team.slug, userId: bob });
