import { createCardRoute } from '../src/cards/routes';
import { createCard } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(createCardRoute, async ({ db, user, body }) => ({
  status: 201,
  body: await createCard(db, user, body),
}));
