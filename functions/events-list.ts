import { listEventsRoute } from '../src/events/routes';
import { listOpenEvents } from '../src/events/service';
import { route } from '../src/http/route';

export const handler = route(listEventsRoute, async ({ db, query }) => ({
  status: 200,
  body: await listOpenEvents(db, query),
}));
