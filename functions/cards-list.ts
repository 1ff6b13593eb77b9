import { listCardsRoute } from '../src/cards/routes';
import { listCards } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(listCardsRoute, async ({ db, user, query }) => ({
  status: 200,
  body: await listCards(db, user, query),
}));
