import { onlySuccessStatus, type RouteSpec } from '../contract/route';
import { logger } from '../logger';
import { toResponse } from './response';
import type { LambdaHandler } from './route';

/**
 * The handler of a route whose answer is fixed when the bundle is built (the OpenAPI document, the reference page):
 * it takes no input, token or Idempotency-Key and reads no database, so it leaves route()'s code for them (drizzle,
 * the driver, jose: about 150 KiB) out of its bundle.
 */
export function staticRoute(spec: RouteSpec<'none'>, body: unknown): LambdaHandler {
  const response = toResponse({ status: onlySuccessStatus(spec), body }, spec.contentType);
  return async (event) => {
    const requestId = event.requestContext?.requestId ?? 'local';
    logger.withKeys({ requestId, operation: spec.operationId }, () => logger.info('request', { status: response.statusCode, durationMs: 0 }));
    return { ...response, headers: { ...response.headers } };
  };
}
