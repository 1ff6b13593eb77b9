import { route } from '../src/http/route';
import { listWebhooksRoute } from '../src/webhooks/routes';
import { listWebhooks } from '../src/webhooks/service';

export const handler = route(listWebhooksRoute, async ({ db, user, query }) => ({ status: 200, body: await listWebhooks(db, user, query) }));
