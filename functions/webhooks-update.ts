import { route } from '../src/http/route';
import { updateWebhookRoute } from '../src/webhooks/routes';
import { updateWebhook } from '../src/webhooks/service';

export const handler = route(updateWebhookRoute, async ({ db, user, params, body }) => ({ status: 200, body: await updateWebhook(db, user, params.id, body) }));
