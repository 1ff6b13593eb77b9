import { route } from '../src/http/route';
import { createWebhookRoute } from '../src/webhooks/routes';
import { createWebhook } from '../src/webhooks/service';

export const handler = route(createWebhookRoute, async ({ db, user, body }) => ({ status: 201, body: await createWebhook(db, user, body) }));
