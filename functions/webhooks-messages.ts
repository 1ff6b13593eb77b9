import { route } from '../src/http/route';
import { listWebhookMessagesRoute } from '../src/webhooks/routes';
import { listWebhookMessages } from '../src/webhooks/service';

export const handler = route(listWebhookMessagesRoute, async ({ db, user, params, query }) => ({
  status: 200,
  body: await listWebhookMessages(db, user, params.id, query),
}));
