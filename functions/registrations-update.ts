import { route } from '../src/http/route';
import { updateRegistrationRoute } from '../src/registrations/routes';
import { changeStatus } from '../src/registrations/service';

export const handler = route(updateRegistrationRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await changeStatus(db, params.slug, params.id, body.status, { user, token: undefined }),
}));
