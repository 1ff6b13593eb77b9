import { route } from '../src/http/route';
import { transferTeamRoute } from '../src/teams/routes';
import { transferTeam } from '../src/teams/service';

export const handler = route(transferTeamRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await transferTeam(db, user, params.slug, body.userId),
}));
