import { route } from '../src/http/route';
import { deleteTeamRoute } from '../src/teams/routes';
import { deleteTeam } from '../src/teams/service';

export const handler = route(deleteTeamRoute, async ({ db, user, params }) => {
  await deleteTeam(db, user, params.slug);
  return { status: 204 };
});
