import { deleteEventRoute } from '../src/events/routes';
import { deleteEvent } from '../src/events/service';
import { route } from '../src/http/route';

export const handler = route(deleteEventRoute, async ({ db, user, params }) => {
  await deleteEvent(db, user, params.slug);
  return { status: 204 };
});
