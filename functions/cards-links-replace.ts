import { replaceCardLinksRoute } from '../src/cards/routes';
import { replaceCardLinks } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(replaceCardLinksRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await replaceCardLinks(db, user, params.id, body),
}));
