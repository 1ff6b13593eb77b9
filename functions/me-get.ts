import { route } from '../src/http/route';
import { getMeRoute } from '../src/users/routes';
import { getMe } from '../src/users/service';

export const handler = route(getMeRoute, async ({ db, user }) => ({ status: 200, body: await getMe(db, user) }));
