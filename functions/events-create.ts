import { createEventRoute } from '../src/events/routes';
import { createEvent } from '../src/events/service';
import { route } from '../src/http/route';

export const handler = route(createEventRoute, async ({ db, user, body }) => ({
  status: 201,
  body: await createEvent(db, user, body),
}));
