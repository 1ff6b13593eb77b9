import { checkHealth } from '../src/health/service';
import { healthRoute } from '../src/health/routes';
import { route } from '../src/http/route';

export const handler = route(healthRoute, async ({ db }) => ({ status: 200, body: await checkHealth(db) }));
