import { route } from '../src/http/route';
import { replayWebhookRoute } from '../src/webhooks/routes';
import { replayWebhook } from '../src/webhooks/service';

export const handler = route(replayWebhookRoute, async ({ db, user, params, body }) => ({ status: 202, body: await replayWebhook(db, user, params.id, body) }));
