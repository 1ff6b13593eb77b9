import document from '../docs/openapi.json';
import { openApiRoute } from '../src/docs/routes';
import { route } from '../src/http/route';

export const handler = route(openApiRoute, async () => ({ status: 200, body: document }));
