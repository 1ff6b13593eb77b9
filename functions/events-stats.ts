import { route } from '../src/http/route';
import { eventStatsRoute } from '../src/registrations/routes';
import { eventStats } from '../src/registrations/service';

export const handler = route(eventStatsRoute, async ({ db, user, params }) => ({
  status: 200,
  body: await eventStats(db, user, params.slug),
}));
