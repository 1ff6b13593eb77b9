import { route } from '../src/http/route';
import { createRegistrationRoute } from '../src/registrations/routes';
import { register } from '../src/registrations/service';

export const handler = route(createRegistrationRoute, async ({ db, params, body, idempotency }) => ({
  status: 201,
  body: await register(db, params.slug, body, idempotency),
}));
