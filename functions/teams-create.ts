import { route } from '../src/http/route';
import { createTeamRoute } from '../src/teams/routes';
import { createTeam } from '../src/teams/service';

export const handler = route(createTeamRoute, async ({ db, user, body }) => ({
  status: 201,
  body: await createTeam(db, user, body),
}));
