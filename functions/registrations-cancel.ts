import { route } from '../src/http/route';
import { cancelRegistrationRoute } from '../src/registrations/routes';
import { cancelRegistration } from '../src/registrations/service';

export const handler = route(cancelRegistrationRoute, async ({ db, user, params, query }) => {
  await cancelRegistration(db, params.slug, params.id, { user, token: query.token });
  return { status: 204 };
});
