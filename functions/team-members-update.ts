import { route } from '../src/http/route';
import { updateTeamMemberRoute } from '../src/teams/routes';
import { updateTeamMember } from '../src/teams/service';

export const handler = route(updateTeamMemberRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await updateTeamMember(db, user, params.slug, params.userId, body.role),
}));
