import { route } from '../src/http/route';
import { getWebhookRoute } from '../src/webhooks/routes';
import { getWebhook } from '../src/webhooks/service';

export const handler = route(getWebhookRoute, async ({ db, user, params }) => ({ status: 200, body: await getWebhook(db, user, params.id) }));
