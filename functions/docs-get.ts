import document from '../docs/openapi.json';
import { renderReference, type OpenApiDocument } from '../src/docs/render';
import { docsRoute } from '../src/docs/routes';
import { staticRoute } from '../src/http/static';

// Rendered once per cold start: the document is part of the bundle.
export const handler = staticRoute(docsRoute, renderReference(document as OpenApiDocument));
