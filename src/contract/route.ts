import type * as z from 'zod/mini';

/**
 * A route's contract, declared by its domain (src/<domain>/routes.ts) as data: the HTTP adapter (src/http/route.ts)
 * validates against it, serverless.yml is checked against it and the OpenAPI document is generated from it.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type AuthMode = 'none' | 'optional' | 'required';

/** A route's whole contract: the handler validates against it and the OpenAPI document is generated from it. */
export interface RouteSpec<
  A extends AuthMode = AuthMode,
  P extends z.ZodMiniType = z.ZodMiniType,
  Q extends z.ZodMiniType = z.ZodMiniType,
  B extends z.ZodMiniType = z.ZodMiniType,
> {
  operationId: string;
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Success status → response schema (`null` for an empty body). */
  responses: Record<number, z.ZodMiniType | null>;
  /** Media type of a success body when it is not JSON: the handler then returns the body as a ready string. */
  contentType?: string;
  /** Error codes this route can answer with, for the documentation. */
  errors?: readonly string[];
  /**
   * `statement`: the effect is ONE SQL statement that records the Idempotency-Key itself (RouteContext.idempotency),
   * so its row locks are never held across round trips. Needs exactly one success status. Default: the effect runs
   * in a transaction that claims the key first.
   */
  idempotency?: 'statement';
}

export function defineRoute<A extends AuthMode, P extends z.ZodMiniType, Q extends z.ZodMiniType, B extends z.ZodMiniType>(
  spec: RouteSpec<A, P, Q, B>,
): RouteSpec<A, P, Q, B> {
  return spec;
}


/** The one success status of a route that can answer only one way (a one-statement write, a fixed document). */
export function onlySuccessStatus(spec: RouteSpec): number {
  const statuses = Object.keys(spec.responses).map(Number);
  if (statuses.length !== 1) throw new Error(`${spec.operationId}: needs exactly one success status`);
  return statuses[0]!;
}
