/**
 * The HTML API reference served at GET /docs, rendered on the server from the OpenAPI document: one static page
 * with its styles inline and no script, so it works offline and keeps the function small.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  description?: string;
  [constraint: string]: unknown;
};

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  servers?: Array<{ url: string; description?: string }>;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Descriptions use `code` spans only. */
const prose = (text = '') => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');
const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);
const anchor = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '-');
/** zod's integer bounds carry no information for a reader. */
const SAFE_INTEGER = 9007199254740991;

function constraints(schema: Schema): string[] {
  const notes: string[] = [];
  const { minLength, maxLength, minimum, maximum, minItems, maxItems, format, pattern } = schema;
  if (minLength !== undefined || maxLength !== undefined) notes.push(`length ${minLength ?? 0}..${maxLength ?? '∞'}`);
  const low = minimum === -SAFE_INTEGER ? undefined : minimum;
  const high = maximum === SAFE_INTEGER ? undefined : maximum;
  if (low !== undefined || high !== undefined) notes.push(`${low ?? '−∞'}..${high ?? '∞'}`);
  if (minItems !== undefined || maxItems !== undefined) notes.push(`${minItems ?? 0}..${maxItems ?? '∞'} items`);
  if (format !== undefined) notes.push(String(format));
  else if (typeof pattern === 'string' && pattern.length <= 40) notes.push(`matches ${pattern}`);
  if ('default' in schema) notes.push(`default ${JSON.stringify(schema.default)}`);
  return notes;
}

/** A one-line type: `string | null`, `Event[]`, `"OPEN" | "CLOSED"`, with links to named schemas. */
function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'any';
  if (schema.$ref) return `<a href="#schema-${anchor(refName(schema.$ref))}">${escape(refName(schema.$ref))}</a>`;
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map(typeOf).join(' | ');
  if (schema.allOf) return schema.allOf.map(typeOf).join(' &amp; ');
  if (schema.enum) return schema.enum.map((value) => escape(JSON.stringify(value))).join(' | ');
  if ('const' in schema) return escape(JSON.stringify(schema.const));
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'any'];
  return types.map((type) => (type === 'array' ? `${typeOf(schema.items)}[]` : escape(type))).join(' | ');
}

function propertiesTable(schema: Schema): string {
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties ?? {}).map(
    ([name, property]) =>
      `<tr><td><code>${escape(name)}</code>${required.has(name) ? '' : ' <small>optional</small>'}</td><td>${typeOf(property)}</td><td>${escape(constraints(property).join(', '))}${property.description ? ` ${prose(property.description)}` : ''}</td></tr>`,
  );
  return rows.length === 0 ? '' : `<table><tr><th>Field</th><th>Type</th><th>Rules</th></tr>${rows.join('')}</table>`;
}

/** A body: a link to its named schema, or the fields of an inline object. */
function schemaBlock(schema: Schema | undefined): string {
  if (schema?.type === 'object' && schema.properties && !schema.$ref) return propertiesTable(schema);
  const notes = schema ? constraints(schema) : [];
  return `<p>${typeOf(schema)}${notes.length ? ` <small>(${escape(notes.join(', '))})</small>` : ''}</p>`;
}

function contentBlock(content: Record<string, { schema?: Schema }> | undefined): string {
  return Object.entries(content ?? {})
    .map(([mediaType, { schema }]) => `<div class="media"><small>${escape(mediaType)}</small>${schemaBlock(schema)}</div>`)
    .join('');
}

function auth(operation: Operation): string {
  const options = operation.security ?? [];
  if (options.length === 0) return 'none';
  if (options.some((option) => Object.keys(option).length === 0)) return 'optional bearer token';
  return 'bearer token (JWT)';
}

function operationSection(method: string, path: string, operation: Operation): string {
  const parameters = operation.parameters ?? [];
  const parameterRows = parameters.map(
    (p) =>
      `<tr><td><code>${escape(p.name)}</code> <small>${escape(p.in)}${p.required ? '' : ', optional'}</small></td><td>${typeOf(p.schema)}</td><td>${escape(constraints(p.schema ?? {}).join(', '))}${p.description ? ` ${prose(p.description)}` : ''}</td></tr>`,
  );
  const responses = Object.entries(operation.responses ?? {}).map(
    ([status, response]) =>
      `<li><strong>${escape(status)}</strong> ${prose(response.description)}${contentBlock(response.content)}</li>`,
  );
  return `<section class="operation" id="op-${anchor(operation.operationId ?? `${method}-${path}`)}">
<h3><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h3>
<p class="summary">${prose(operation.summary)}</p>
${operation.description ? `<p>${prose(operation.description)}</p>` : ''}
<p><small>Authentication: ${auth(operation)}</small></p>
${parameterRows.length ? `<h4>Parameters</h4><table><tr><th>Name</th><th>Type</th><th>Rules</th></tr>${parameterRows.join('')}</table>` : ''}
${operation.requestBody ? `<h4>Request body</h4>${contentBlock(operation.requestBody.content)}` : ''}
<h4>Responses</h4><ul>${responses.join('')}</ul>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:18rem;flex:none;padding:1rem;background:#f3f5f8;box-sizing:border-box}
nav a{display:block;color:inherit;text-decoration:none;font-size:13px;padding:1px 0}main{padding:1rem 2rem;max-width:60rem}
.method{display:inline-block;min-width:4.2em;font:bold 12px monospace;color:#fff;border-radius:3px;padding:2px 4px;text-align:center}
.get{background:#2f7d4f}.post{background:#2c5fa8}.put{background:#8a5a00}.patch{background:#6a3fa0}.delete{background:#b03030}
.operation,.schema{border-top:1px solid #d8dde5;padding:.5rem 0}table{border-collapse:collapse;margin:.3rem 0}
td,th{border:1px solid #d8dde5;padding:2px 6px;vertical-align:top;text-align:left;font-size:13px}code{font-size:13px}
small{color:#5a6272}.media{margin:.2rem 0 .4rem 1rem}h3{margin:.4rem 0}`;

export function renderReference(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method, path, operation })),
  );
  const groups = new Map<string, typeof operations>();
  for (const entry of operations) {
    const group = entry.path.split('/')[1] ?? '';
    groups.set(group, [...(groups.get(group) ?? []), entry]);
  }
  const schemas = Object.entries(document.components?.schemas ?? {});
  const nav = [...groups]
    .map(
      ([group, entries]) =>
        `<h4>/${escape(group)}</h4>${entries.map(({ method, path, operation }) => `<a href="#op-${anchor(operation.operationId ?? `${method}-${path}`)}"><b>${escape(method.toUpperCase())}</b> ${escape(path)}</a>`).join('')}`,
    )
    .join('');
  const { info } = document;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(info.title)} ${escape(info.version)} API reference</title><style>${STYLE}</style></head>
<body><nav><strong>${escape(info.title)} ${escape(info.version)}</strong>${nav}<h4>Schemas</h4>${schemas.map(([name]) => `<a href="#schema-${anchor(name)}">${escape(name)}</a>`).join('')}</nav>
<main><h1>${escape(info.title)} API reference <small>${escape(info.version)}</small></h1>
<p>${prose(info.description)}</p>
<p>Servers: ${(document.servers ?? []).map((server) => `<code>${escape(server.url)}</code> ${prose(server.description)}`).join('; ')}. The machine-readable document is <a href="openapi.json">/openapi.json</a>.</p>
<h2>Operations</h2>
${operations.map(({ method, path, operation }) => operationSection(method, path, operation)).join('\n')}
<h2>Schemas</h2>
${schemas.map(([name, schema]) => `<section class="schema" id="schema-${anchor(name)}"><h3>${escape(name)}</h3>${schema.description ? `<p>${prose(schema.description)}</p>` : ''}${schemaBlock(schema)}</section>`).join('\n')}
</main></body></html>
`;
}
