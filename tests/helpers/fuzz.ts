import fc from 'fast-check';
import * as z from 'zod/mini';

/**
 * Property-based fuzzing helpers: arbitraries derived from the routes' zod contracts (through their JSON Schema),
 * and the classes of hostile input issue 11 lists. FUZZ_RUNS sets the runs per property, FUZZ_SEED replays one.
 */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 12);
export const fuzzParameters = <T>(): fc.Parameters<T> => ({
  numRuns: FUZZ_RUNS,
  ...(process.env.FUZZ_SEED !== undefined && { seed: Number(process.env.FUZZ_SEED) }),
  ...(process.env.FUZZ_PATH !== undefined && { path: process.env.FUZZ_PATH }),
  // A failure prints its seed and path; replaying the shrink would rerun requests against a changed database.
  endOnFailure: true,
});

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
};

/** Text that tends to break things: astral, combining, right-to-left, lone surrogates, NUL, control characters. */
export const nastyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '😀🧑‍💻𝕏',
    'e\u0301\u0301\u0301',
    '\u202Eevil\u202C',
    'مرحبا שלום',
    '\uD800',
    'a\uDC00b',
    'nul\u0000byte',
    '\u0000',
    '\t\r\n\u000b',
    '\uFEFF',
    '   ',
    '%00',
    '../..',
    "'; drop table events; --",
    '${jndi:x}',
  ),
  fc.string({ minLength: 100, maxLength: 6000 }).map((text) => text || 'x'.repeat(300)),
);

export const nastyNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308, 0.5, 1.0000001, 5e-324),
  fc.double(),
  fc.integer(),
);

export const anyJson = fc.oneof(nastyText, nastyNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));

/** A value the JSON Schema of a contract accepts (refinements the schema cannot express may still refuse it). */
export function arbitraryFor(root: JsonSchema): fc.Arbitrary<unknown> {
  const defs = root.$defs ?? {};
  const of = (schema: JsonSchema, name?: string): fc.Arbitrary<unknown> => {
    if (schema.$ref) return of(defs[schema.$ref.replace('#/$defs/', '')] ?? {}, name);
    if (schema.anyOf) return fc.oneof(...schema.anyOf.map((option) => of(option, name)));
    if (schema.enum) return fc.constantFrom(...schema.enum);
    if (schema.const !== undefined) return fc.constant(schema.const);
    switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({ min: Math.max(schema.minimum ?? -1e6, -1e9), max: Math.min(schema.maximum ?? 1e6, 1e9) });
      case 'number':
        return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
      case 'string':
        return stringFor(schema, name);
      case 'array':
        return fc.array(of(schema.items ?? {}), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
      case 'object': {
        const properties = schema.properties ?? {};
        const required = new Set(schema.required ?? []);
        const entries = Object.entries(properties).map(([key, property]) => [key, of(property, key)] as const);
        return fc.record(Object.fromEntries(entries), {
          requiredKeys: Object.keys(properties).filter((key) => required.has(key)),
        });
      }
      default:
        return anyJson;
    }
  };
  return of(root);
}

function stringFor(schema: JsonSchema, name?: string): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 120, 400);
  const fits = (text: string) => text.length >= min && text.length <= (schema.maxLength ?? Infinity);
  if (schema.format === 'email') return fc.stringMatching(/^[a-z0-9]{1,12}$/).map((local) => `${local}@example.com`);
  if (schema.format === 'uuid') return fc.uuid({ version: 4 });
  if (schema.format === 'date-time') {
    return fc.date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }).map((date) => date.toISOString());
  }
  if (name === 'url') return fc.webUrl({ validSchemes: ['https'] }).filter(fits);
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  return fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, min) }).filter((text) => fits(text) && text.trim().length >= min);
}

export function jsonSchemaOf(schema: z.ZodMiniType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

/** One hostile change to a valid object: a field dropped, added, or given a value of the wrong kind. */
export function mutateObject(value: unknown): fc.Arbitrary<unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return anyJson;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  const drop = keys.length === 0 ? [] : [fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(record).filter(([k]) => k !== key)))];
  const retype = keys.length === 0 ? [] : [fc.tuple(fc.constantFrom(...keys), anyJson).map(([key, wrong]) => ({ ...record, [key]: wrong }))];
  const numbers = keys.length === 0 ? [] : [fc.tuple(fc.constantFrom(...keys), nastyNumber).map(([key, n]) => ({ ...record, [key]: n }))];
  const extraKey = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'id', 'organizerId', 'isDefault'));
  // A computed key makes `__proto__` an own field, as JSON.parse does.
  const extra = fc.tuple(extraKey, anyJson).map(([key, extraValue]) => ({ ...record, [key]: extraValue }));
  return fc.oneof(...drop, ...retype, ...numbers, extra);
}

/** Raw body text no JSON serializer would write: deep nesting, duplicate keys, escapes, numbers JSON cannot hold. */
export function rawBodies(valid: unknown): fc.Arbitrary<string> {
  const text = JSON.stringify(valid) ?? 'null';
  const inner = text.startsWith('{') && text.length > 2 ? text.slice(1, -1) : '"a":1';
  return fc.oneof(
    fc.integer({ min: 30, max: 30_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
    fc.integer({ min: 30, max: 9_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
    fc.constant(`{${inner},${inner}}`),
    fc.constant(text.replace(/"([^"]*)"/, '"$1\\u0000"')),
    fc.constant(text.replace(/"([^"]*)"/, '"$1\\ud800"')),
    fc.constant(text.replace(/:(\d+)/, ':1e400')),
    fc.constant(text.replace(/:(\d+)/, ':-0.0e-7')),
    fc.constant(text.replace(/:(\d+)/, ':12345678901234567890123')),
    fc.constantFrom('', ' ', 'null', '[]', '{', '{"a":}', '"string"', '\uFEFF{}', 'true', '1', "{'a':1}", text.slice(0, -1)),
    fc.integer({ min: 60_000, max: 70_000 }).map((size) => JSON.stringify({ pad: 'x'.repeat(size) })),
  );
}

export const oddContentTypes = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonp',
  'APPLICATION/JSON',
  '',
  'application/json; charset=utf-16',
);

export const oddIdempotencyKeys = fc.oneof(
  fc.uuid(),
  fc.constantFrom('', ' ', 'x'.repeat(256), 'x'.repeat(255), 'ключ', 'a\u0000b', 'a\nb', 'same-key', '\t'),
  fc.string({ maxLength: 300 }),
);

export const garbageCursor = fc.oneof(
  fc.string({ maxLength: 600 }),
  fc.base64String({ maxLength: 200 }),
  anyJson.map((value) => Buffer.from(JSON.stringify(value) ?? 'x', 'utf8').toString('base64url')),
  fc.constantFrom(
    Buffer.from('[1e400]').toString('base64url'),
    Buffer.from('[-1]').toString('base64url'),
    Buffer.from('[99999999999999999999]').toString('base64url'),
    Buffer.from('["2027-01-01T00:00:00.000000Z","not-a-uuid"]').toString('base64url'),
    Buffer.from('["275760-09-13T00:00:00.000Z","00000000-0000-0000-0000-000000000000"]').toString('base64url'),
    Buffer.from('{"__proto__":1}').toString('base64url'),
  ),
);
