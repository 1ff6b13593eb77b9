/**
 * The API's CORS policy. API Gateway applies it in AWS (serverless.yml's httpApi.cors, built here) and the local
 * gateway of `npm run dev` applies the same settings, so a browser meets the same answers in both.
 */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'] as const;
export const CORS_EXPOSED_HEADERS = ['Idempotent-Replayed', 'Retry-After'] as const;
export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Seconds a browser may cache a preflight answer. */
export const CORS_MAX_AGE = 600;

/** serverless.yml's `provider.httpApi.cors`: `false` (no CORS) when no origin is allowed. */
export function httpApiCors(allowedOrigins: readonly string[]) {
  if (allowedOrigins.length === 0) return false;
  return {
    allowedOrigins: [...allowedOrigins],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    allowedMethods: [...CORS_ALLOWED_METHODS],
    exposedResponseHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: CORS_MAX_AGE,
  };
}

/** Whether a request's Origin may read the API's answers. */
export function isAllowedOrigin(allowedOrigins: readonly string[], origin: string | undefined): origin is string {
  return origin !== undefined && (allowedOrigins.includes('*') || allowedOrigins.includes(origin));
}
