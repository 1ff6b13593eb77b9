import { route } from '../src/http/route';
import { updateTeamRoute } from '../src/teams/routes';
import { updateTeam } from '../src/teams/service';

export const handler = route(updateTeamRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await updateTeam(db, user, params.slug, body),
}));
