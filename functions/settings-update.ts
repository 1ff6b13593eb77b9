import { route } from '../src/http/route';
import { updateSettingsRoute } from '../src/users/routes';
import { updateSettings } from '../src/users/service';

export const handler = route(updateSettingsRoute, async ({ db, user, body }) => ({
  status: 200,
  body: await updateSettings(db, user, body),
}));
