import { route } from '../src/http/route';
import { listWebhookAttemptsRoute } from '../src/webhooks/routes';
import { listWebhookAttempts } from '../src/webhooks/service';

export const handler = route(listWebhookAttemptsRoute, async ({ db, user, params, query }) => ({
  status: 200,
  body: await listWebhookAttempts(db, user, params.id, query),
}));
