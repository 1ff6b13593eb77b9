import { route } from '../src/http/route';
import { getSettingsRoute } from '../src/users/routes';
import { getSettings } from '../src/users/service';

export const handler = route(getSettingsRoute, async ({ db, user }) => ({
  status: 200,
  body: await getSettings(db, user),
}));
