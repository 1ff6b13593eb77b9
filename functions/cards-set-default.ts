import { setDefaultCardRoute } from '../src/cards/routes';
import { setDefaultCard } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(setDefaultCardRoute, async ({ db, user, params }) => ({
  status: 200,
  body: await setDefaultCard(db, user, params.id),
}));
