import { deleteCardRoute } from '../src/cards/routes';
import { deleteCard } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(deleteCardRoute, async ({ db, user, params }) => {
  await deleteCard(db, user, params.id);
  return { status: 204 };
});
