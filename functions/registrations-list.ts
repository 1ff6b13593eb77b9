import { route } from '../src/http/route';
import { listRegistrationsRoute } from '../src/registrations/routes';
import { listRegistrations } from '../src/registrations/service';

export const handler = route(listRegistrationsRoute, async ({ db, user, params, query }) => ({
  status: 200,
  body: await listRegistrations(db, user, params.slug, query),
}));
