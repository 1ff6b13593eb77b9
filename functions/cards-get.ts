import { getCardRoute } from '../src/cards/routes';
import { getCard } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(getCardRoute, async ({ db, user, params }) => ({
  status: 200,
  body: await getCard(db, user, params.id),
}));
