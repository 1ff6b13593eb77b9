import { route } from '../src/http/route';
import { updateMeRoute } from '../src/users/routes';
import { updateMe } from '../src/users/service';

export const handler = route(updateMeRoute, async ({ db, user, body }) => ({
  status: 200,
  body: await updateMe(db, user, body),
}));
