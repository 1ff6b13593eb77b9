import { route } from '../src/http/route';
import { getRegistrationRoute } from '../src/registrations/routes';
import { getRegistration } from '../src/registrations/service';

export const handler = route(getRegistrationRoute, async ({ db, user, params, query }) => ({
  status: 200,
  body: await getRegistration(db, params.slug, params.id, { user, token: query.token }),
}));
