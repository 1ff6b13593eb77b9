import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { config } from '../config';
import { LockstepError } from '../errors';
import type { Identity } from '../users/contract';


type Verifier = (token: string) => Promise<JWTPayload>;

let verifier: Verifier | undefined;

function createVerifier(): Verifier {
  const cfg = config();
  const claims = { issuer: cfg.AUTH_ISSUER, audience: cfg.AUTH_AUDIENCE };
  if (cfg.AUTH_JWKS_URL !== undefined) {
    // Keys are fetched once and cached across warm invocations; asymmetric algorithms only.
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(cfg.AUTH_JWKS_URL));
    return async (token) =>
      (await jwtVerify(token, jwks, { ...claims, algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] })).payload;
  }
  const secret = new TextEncoder().encode(cfg.AUTH_JWT_SECRET);
  // A fixed algorithm list is what rejects `alg: none` and algorithm confusion.
  return async (token) => (await jwtVerify(token, secret, { ...claims, algorithms: ['HS256'] })).payload;
}

const unauthorized = (detail: string, cause?: unknown) => new LockstepError('unauthorized', detail, { cause });

/** The caller named by an `Authorization: Bearer <JWT>` header, or `undefined` when there is no header. */
export async function authenticate(authorization: string | undefined): Promise<Identity | undefined> {
  if (authorization === undefined || authorization === '') return undefined;
  const match = /^Bearer +([A-Za-z0-9_\-.]+)$/i.exec(authorization);
  if (!match?.[1]) throw unauthorized('The Authorization header must be "Bearer <token>"');
  verifier ??= createVerifier();
  let payload: JWTPayload;
  try {
    payload = await verifier(match[1]);
  } catch (err) {
    // The token was fine or not, but the key set could not be fetched: that is ours to fix, not the caller's.
    if (!(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout) {
      throw new LockstepError('auth_unavailable', 'The token could not be verified right now', { cause: err, retryAfter: 5 });
    }
    throw unauthorized('The token is invalid or expired', err);
  }
  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
    throw unauthorized('The token has no usable subject');
  }
  return {
    sub: payload.sub,
    email: typeof payload.email === 'string' ? payload.email : undefined,
    name: typeof payload.name === 'string' ? payload.name : undefined,
  };
}
