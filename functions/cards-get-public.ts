import { getPublicCardRoute } from '../src/cards/routes';
import { getPublicCard } from '../src/cards/service';
import { route } from '../src/http/route';

export const handler = route(getPublicCardRoute, async ({ db, params }) => ({
  status: 200,
  body: await getPublicCard(db, params.slug),
}));
