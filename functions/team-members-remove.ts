import { route } from '../src/http/route';
import { removeTeamMemberRoute } from '../src/teams/routes';
import { removeTeamMember } from '../src/teams/service';

export const handler = route(removeTeamMemberRoute, async ({ db, user, params }) => {
  await removeTeamMember(db, user, params.slug, params.userId);
  return { status: 204 };
});
