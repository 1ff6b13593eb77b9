import document from '../docs/openapi.json';
import { openApiRoute } from '../src/docs/routes';
import { staticRoute } from '../src/http/static';

export const handler = staticRoute(openApiRoute, document);
