import { route } from '../src/http/route';
import { deleteWebhookRoute } from '../src/webhooks/routes';
import { deleteWebhook } from '../src/webhooks/service';

export const handler = route(deleteWebhookRoute, async ({ db, user, params }) => {
  await deleteWebhook(db, user, params.id);
  return { status: 204 };
});
