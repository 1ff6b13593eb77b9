import { emitMetrics, METRIC } from '../metrics/metrics';
import { createHash } from 'node:crypto';
import type { Db } from '../db/handle';
import { LockstepError } from '../errors';
import { runIdempotentStatement, runIdempotently, type AttemptResult, type StatementKey } from '../idempotency/store';
import type { RequestBody } from './body';
import type { HttpResponse } from './response';

/**
 * The HTTP side of Idempotency-Key: the header's rules, what makes two requests "the same", and the
 * `Idempotent-Replayed` header on a replay. Storing, waiting and replaying belong to the store
 * (src/idempotency/store.ts); this file only decides what to hand it.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const REPLAYED_HEADER = 'idempotent-replayed';
export const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

export function parseIdempotencyKey(header: string): string {
  if (!KEY_PATTERN.test(header)) {
    throw new LockstepError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters', {
      errors: [{ path: 'Idempotency-Key', message: 'Use 1 to 255 printable ASCII characters, e.g. a UUID' }],
    });
  }
  return header;
}

/** JSON with object keys sorted at every depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` fingerprint alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What makes two requests "the same": method, path, query parameters (sorted) and canonical JSON body. The query
 * matters: `?token=` decides which registration a DELETE may cancel.
 */
export function fingerprint(
  method: string,
  path: string,
  query: Record<string, string | undefined>,
  body: RequestBody | undefined,
): string {
  let canonical = body?.text ?? '';
  try {
    if (body) canonical = canonicalJson(body.json());
  } catch {
    // Not JSON: the raw text is its own canonical form.
  }
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(query)}\n${canonical}`).digest('hex');
}


/** A keyed write as the route sees it, after validation and authentication. */
export interface KeyedRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  body: RequestBody | undefined;
  /** `sub:<subject>`, or `anonymous`. */
  scope: string;
  key: string;
  /** The route's effect is one statement that records the key itself; its success answer, known beforehand. */
  oneStatement?: { statusCode: number; headers: Record<string, string> };
}

/**
 * Run a keyed write through the store, in the form its route declares, and mark a replay. `execute` performs the
 * effect (with the StatementKey for a one-statement route); `refusal` turns a refusal into the answer to store,
 * and returns undefined for a failure, which is thrown and never stored.
 */
export async function runKeyed(
  db: Db,
  request: KeyedRequest,
  execute: (db: Db, key?: StatementKey) => Promise<HttpResponse>,
  refusal: (err: unknown) => HttpResponse | undefined,
): Promise<HttpResponse> {
  const keyed = {
    scope: request.scope,
    key: request.key,
    fingerprint: fingerprint(request.method, request.path, request.query, request.body),
  };
  const attempt = async (effect: () => Promise<HttpResponse>): Promise<AttemptResult> => {
    try {
      return { response: await effect(), commit: true };
    } catch (err) {
      const response = refusal(err);
      if (!response) throw err;
      return { response, commit: false };
    }
  };
  const { replayed, ...response } = request.oneStatement
    ? await runIdempotentStatement(db, keyed, request.oneStatement, (key) => attempt(() => execute(db, key)))
    : await runIdempotently(db, keyed, (tx) => attempt(() => execute(tx)));
  if (!replayed) return response;
  emitMetrics({ [METRIC.idempotentReplays]: 1 });
  return { ...response, headers: { ...response.headers, [REPLAYED_HEADER]: 'true' } };
}
