import { route } from '../src/http/route';
import { rotateWebhookSecretRoute } from '../src/webhooks/routes';
import { rotateWebhookSecret } from '../src/webhooks/service';

export const handler = route(rotateWebhookSecretRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await rotateWebhookSecret(db, user, params.id, body),
}));
