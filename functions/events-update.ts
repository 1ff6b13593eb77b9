import { updateEventRoute } from '../src/events/routes';
import { updateEvent } from '../src/events/service';
import { route } from '../src/http/route';

export const handler = route(updateEventRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await updateEvent(db, user, params.slug, body),
}));
