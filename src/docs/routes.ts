import * as z from 'zod/mini';
import { defineRoute } from '../contract/route';

export const openApiRoute = defineRoute({
  operationId: 'getOpenApi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This OpenAPI 3.1 document',
  description: 'The committed docs/openapi.json, generated from the zod schemas the handlers validate with.',
  auth: 'none',
  responses: { 200: z.looseObject({ openapi: z.string() }) },
});

export const docsRoute = defineRoute({
  operationId: 'getDocs',
  method: 'GET',
  path: '/docs',
  summary: 'The API reference as an HTML page you can send requests from',
  description:
    'Swagger UI with this document, both inside the page: it loads nothing from the network, and its requests go to the instance that serves it.',
  auth: 'none',
  responses: { 200: z.string() },
  contentType: 'text/html; charset=utf-8',
});
