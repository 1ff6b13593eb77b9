import swaggerUiScript from 'swagger-ui-dist/swagger-ui-bundle.js?raw';
import swaggerUiStyle from 'swagger-ui-dist/swagger-ui.css?raw';

/**
 * The API reference served at GET /docs: Swagger UI (swagger-ui-dist) with the OpenAPI document, all inline in one
 * page, so it fetches nothing (no CDN, no font, no validator badge) and "Try it out" calls the instance serving it
 * (the document's server is `/`).
 */

export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, { operationId?: string }>>;
}

/** Text that may sit inside a <script> or <style> element: nothing in it can close the element. */
const inElement = (text: string, element: 'script' | 'style') => text.replace(new RegExp(`</(${element})`, 'gi'), '<\\/$1');
/** JSON as a script's literal: `<` escaped, so no string in the document can end the script or open a comment. */
const jsonLiteral = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028|\u2029/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Swagger UI's settings: see https://swagger.io/docs/open-source-tools/swagger-ui/usage/configuration/ */
const SETTINGS = {
  dom_id: '#reference',
  validatorUrl: null,
  tryItOutEnabled: true,
  requestSnippetsEnabled: true,
  displayRequestDuration: true,
  displayOperationId: true,
  filter: true,
  deepLinking: true,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  queryConfigEnabled: false,
};

export function renderReference(document: OpenApiDocument): string {
  const title = escapeHtml(`${document.info.title} ${document.info.version} API reference`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title>
<style>${inElement(swaggerUiStyle, 'style')}</style><style>body{margin:0}</style></head>
<body><noscript>This reference needs JavaScript; the document itself is <a href="openapi.json">/openapi.json</a>.</noscript>
<div id="reference"></div>
<script>${inElement(swaggerUiScript, 'script')}</script>
<script>window.ui = SwaggerUIBundle(Object.assign(${jsonLiteral(SETTINGS)}, { spec: ${jsonLiteral(document)} }));</script>
</body></html>
`;
}
