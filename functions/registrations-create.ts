import { route } from '../src/http/route';
import { emitMetrics, METRIC } from '../src/metrics/metrics';
import { createRegistrationRoute } from '../src/registrations/routes';
import { register } from '../src/registrations/service';

export const handler = route(createRegistrationRoute, async ({ db, params, body, idempotency }) => {
  const registration = await register(db, params.slug, body, idempotency);
  // Only new registrations get here: a replay is answered from its stored response.
  emitMetrics({ [registration.status === 'CONFIRMED' ? METRIC.registrationsConfirmed : METRIC.registrationsWaitlisted]: 1 });
  return { status: 201, body: registration };
});
