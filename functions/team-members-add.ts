import { route } from '../src/http/route';
import { addTeamMemberRoute } from '../src/teams/routes';
import { addTeamMember } from '../src/teams/service';

export const handler = route(addTeamMemberRoute, async ({ db, user, params, body }) => {
  const { created, member } = await addTeamMember(db, user, params.slug, body);
  return { status: created ? 201 : 200, body: member };
});
