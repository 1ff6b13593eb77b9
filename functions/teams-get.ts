import { route } from '../src/http/route';
import { getTeamRoute } from '../src/teams/routes';
import { getTeam } from '../src/teams/service';

export const handler = route(getTeamRoute, async ({ db, params }) => ({
  status: 200,
  body: await getTeam(db, params.slug),
}));
