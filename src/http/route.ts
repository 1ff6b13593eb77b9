import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import '../contract/zod-locale';
import { config, HTTP_SECRETS, loadSecrets, webhookConfig } from '../config';
import { findInputProblem, MAX_BODY_BYTES } from '../contract/input';
import { onlySuccessStatus, type AuthMode, type RouteSpec } from '../contract/route';
import { database } from '../db/client';
import type { Db } from '../db/handle';
import { withDeadline, within } from '../db/deadline';
import { describeError } from '../db/describe-error';
import { toLockstepError } from '../db/errors';
import { isRefusal, LockstepError } from '../errors';
import type { StatementKey } from '../idempotency/store';
import { logger } from '../logger';
import { emitMetrics, METRIC } from '../metrics/metrics';
import type { UserRow } from '../users/schema';
import { ensureUser } from '../users/service';
import { trackMessages, wakeDelivery } from '../webhooks/wake';
import { authenticate } from './auth';
import { decodeBody, payloadTooLarge, type RequestBody } from './body';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey, runKeyed, type KeyedRequest } from './idempotency';
import { problemResponse } from './problem';
import { JSON_HEADERS, toResponse, type HttpResponse, type Reply } from './response';

/** At most this long is spent waking the webhook deliverer after an answer. */
const WAKE_TIMEOUT_MS = 1_000;

// In AWS the database URL and the JWT secret are read from Secrets Manager once per instance, here at the end of its
// cold start, so that route() below can parse the configuration and fail the cold start on a bad value. Starting the
// reads earlier would gain nothing: module evaluation is synchronous, so no request could leave before this await.
await loadSecrets(HTTP_SECRETS);

type Infer<S> = S extends z.ZodMiniType ? z.output<S> : undefined;

export interface RouteContext<A extends AuthMode, P, Q, B> {
  db: Db;
  /** The calling user, created on first sight. */
  user: A extends 'required' ? UserRow : A extends 'optional' ? UserRow | undefined : undefined;
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  requestId: string;
  /** Only for `idempotency: 'statement'` routes called with an Idempotency-Key: pass it to the one statement. */
  idempotency?: StatementKey;
}

export type LambdaHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * The Lambda handler for one route: parse and validate the API Gateway v2 event, authenticate, run the service,
 * and turn every outcome, thrown or not, into an HTTP response. Nothing escapes: serverless-offline answers a
 * thrown error with 200 and API Gateway with a bare 500.
 */
export function route<A extends AuthMode, P extends z.ZodMiniType, Q extends z.ZodMiniType, B extends z.ZodMiniType>(
  spec: RouteSpec<A, P, Q, B>,
  run: (ctx: RouteContext<A, P, Q, B>) => Promise<Reply>,
): LambdaHandler {
  const settings = config(); // Fail the cold start, not the first request, on bad configuration.
  webhookConfig(); // Read by the wake-up after an answer: a bad value must not surface only then.
  const oneStatement = spec.idempotency === 'statement' ? statementResponse(spec) : undefined;
  return (event, context) => {
    const requestId = event.requestContext?.requestId ?? 'local';
    return logger.withKeys({ requestId, operation: spec.operationId }, () => invoke(event, context, requestId));
  };

  async function invoke(event: APIGatewayProxyEventV2, context: Context | undefined, requestId: string) {
    const started = performance.now();
    // The function's own deadline (Lambda, serverless offline) or the configured timeout for direct calls. The
    // database must be done a margin before it, and the answer leaves by half a margin before it at the latest.
    const budgetMs = context?.getRemainingTimeInMillis?.() ?? settings.FUNCTION_TIMEOUT_SECONDS * 1000;
    const margin = settings.DEADLINE_MARGIN_MS;
    let response: HttpResponse;
    let wroteMessages = false;
    const abandon = new AbortController();
    try {
      const handled = trackMessages(() =>
        withDeadline(Date.now() + budgetMs - margin, () => handle(spec, run, event, requestId, oneStatement), abandon.signal),
      );
      ({ result: response, written: wroteMessages } = await answerWithin(budgetMs - margin / 2, handled, abandon));
    } catch (err) {
      response = errorResponse(toLockstepError(err), err);
    }
    logger.info('request', { status: response.statusCode, durationMs: Math.round(performance.now() - started) });
    // The answer is decided (committed or not): only now may the deliverer look for this request's messages. The
    // wake may use the time left, up to WAKE_TIMEOUT_MS, so the function still returns a quarter of the margin before
    // its own timeout. Bounded by that quarter alone (125 ms by default), a first invoke on a busy machine was cut off.
    const left = budgetMs - (performance.now() - started) - margin / 4;
    if (wroteMessages) await wakeDelivery(Math.max(0, Math.min(WAKE_TIMEOUT_MS, left)));
    return response;
  }
}

/**
 * The last line of defence for the deadline: the database aborts its own work when the deadline passes, so this
 * fires only if it could not even say so (a network stall). The late work is abandoned: its connections are
 * discarded (src/db/client.ts), so a stalled one cannot keep the pool's slots from the next requests.
 */
function answerWithin<T>(ms: number, work: Promise<T>, abandon: AbortController): Promise<T> {
  return within(ms, work, (late) => {
    abandon.abort();
    emitMetrics({ [METRIC.deadlineBackstopAnswers]: 1 });
    late.catch((err: unknown) => logger.warn('work failed after its 503 answer', { error: describeError(err) }));
  });
}

function errorResponse(error: LockstepError, thrown: unknown): HttpResponse {
  const refusal = isRefusal(error);
  if (!refusal) logger.error('request failed', { code: error.code, error: describeError(thrown) });
  // The code is one of ours (ErrorCode), never free text: a bounded set of series.
  emitMetrics({ [refusal ? METRIC.refusals : METRIC.failures]: 1 }, { Code: error.code });
  return problemResponse(error);
}

async function handle<A extends AuthMode, P extends z.ZodMiniType, Q extends z.ZodMiniType, B extends z.ZodMiniType>(
  spec: RouteSpec<A, P, Q, B>,
  run: (ctx: RouteContext<A, P, Q, B>) => Promise<Reply>,
  event: APIGatewayProxyEventV2,
  requestId: string,
  oneStatement: KeyedRequest['oneStatement'],
): Promise<HttpResponse> {
  const headers = lowerCaseKeys(event.headers ?? {});
  const identity = spec.auth === 'none' ? undefined : await authenticate(headers.authorization);
  if (spec.auth === 'required' && identity === undefined) {
    throw new LockstepError('unauthorized', 'This route needs an Authorization: Bearer token');
  }
  const keyHeader = spec.method === 'GET' ? undefined : headers[IDEMPOTENCY_KEY_HEADER];
  const key = keyHeader === undefined ? undefined : parseIdempotencyKey(keyHeader);
  // Everything is validated before the first database round trip.
  const sent = spec.body || key !== undefined ? decodeBody(event) : undefined;
  const body = spec.body ? parse(spec.body, readJson(sent, headers), 'body') : undefined;
  const params = spec.params ? parse(spec.params, event.pathParameters ?? {}, 'path') : undefined;
  const query = spec.query ? parse(spec.query, event.queryStringParameters ?? {}, 'query') : undefined;
  const execute = async (db: Db, idempotency?: StatementKey) => {
    const user = identity ? await ensureUser(db, identity) : undefined;
    return toResponse(await run({ db, user, params, query, body, requestId, idempotency } as RouteContext<A, P, Q, B>), spec.contentType);
  };
  if (key === undefined) return execute(database());

  return runKeyed(
    database(),
    {
      method: spec.method,
      path: event.rawPath ?? spec.path,
      query: event.queryStringParameters ?? {},
      body: sent,
      scope: identity ? `sub:${identity.sub}` : 'anonymous',
      key,
      oneStatement,
    },
    execute,
    (err) => {
      const error = toLockstepError(err);
      return isRefusal(error) ? errorResponse(error, err) : undefined;
    },
  );
}

/** Status and headers of a one-statement route's success, known before its statement runs. */
function statementResponse(spec: RouteSpec): { statusCode: number; headers: Record<string, string> } {
  return { statusCode: onlySuccessStatus(spec), headers: { ...JSON_HEADERS } };
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function readJson(body: RequestBody | undefined, headers: Record<string, string | undefined>): unknown {
  if (body === undefined) return undefined;
  if (body.byteLength > MAX_BODY_BYTES) throw payloadTooLarge();
  const contentType = headers['content-type'];
  if (contentType !== undefined && !/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
    const message = 'Send the body as application/json';
    throw new LockstepError('unsupported_media_type', message, { errors: [{ path: '', message }] });
  }
  try {
    return body.json();
  } catch (err) {
    throw new LockstepError('invalid_json', 'The body is not valid JSON', {
      cause: err,
      errors: [{ path: '', message: err instanceof Error ? err.message : 'Unparseable JSON' }],
    });
  }
}

export function parse<S extends z.ZodMiniType>(schema: S, input: unknown, where: 'body' | 'path' | 'query'): z.output<S> {
  // Postgres text cannot hold NUL, and zod walks input recursively: both refused here for every route at once.
  const problem = findInputProblem(input);
  const errors = problem ? [{ path: fieldPath(where, problem.path), message: problem.message }] : undefined;
  const result = errors ? undefined : schema.safeParse(input);
  if (result?.success) return result.data;
  throw new LockstepError('validation_failed', `The request ${where} is invalid`, {
    errors: errors ?? result?.error.issues.map((issue) => ({ path: fieldPath(where, issue.path), message: issue.message })),
  });
}

/** `capacity`, `path.slug`, `query.limit`: body fields need no prefix. */
function fieldPath(where: 'body' | 'path' | 'query', path: readonly PropertyKey[]): string {
  return [...(where === 'body' ? [] : [where]), ...path.map(String)].join('.');
}
