import { getEventRoute } from '../src/events/routes';
import { getEvent } from '../src/events/service';
import { route } from '../src/http/route';

export const handler = route(getEventRoute, async ({ db, params }) => ({
  status: 200,
  body: await getEvent(db, params.slug),
}));
