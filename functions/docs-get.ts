import document from '../docs/openapi.json';
import { renderReference, type OpenApiDocument } from '../src/docs/render';
import { docsRoute } from '../src/docs/routes';
import { route } from '../src/http/route';

// Rendered once per cold start: the document is part of the bundle.
const page = renderReference(document as OpenApiDocument);

export const handler = route(docsRoute, async () => ({ status: 200, body: page }));
