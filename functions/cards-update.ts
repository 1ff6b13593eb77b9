import { updateCardRoute } from '../src/cards/routes';
import { updateCard } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(updateCardRoute, async ({ db, user, params, body }) => ({
  status: 200,
  body: await updateCard(db, user, params.id, body),
}));
