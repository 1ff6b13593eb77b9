import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { config } from '../config';
import { LockstepError } from '../errors';
import type { Identity } from '../users/contract';

type Verifier = (token: string) => Promise<JWTPayload>;

let verifier: Verifier | undefined;

/** After a failed key-set fetch, the last good keys answer alone this long: an outage costs no fetch per request. */
const KEY_SET_RETRY_MS = 5_000;

/** Seconds a client should wait after auth_unavailable; the key set is fetched again by then. */
const RETRY_AFTER_SECONDS = KEY_SET_RETRY_MS / 1000;

/** What no key set can decide: the token names no key of it, several, or an algorithm no key set holds. */
const isTokenError = (err: unknown) =>
  err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported;

/** The key set could not be fetched or read, and no last good keys decide: ours to fix, not the caller's. */
class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
}

/**
 * The identity provider's keys, as jose's remote set fetches them (cached 10 minutes, fetched again at once for an
 * unknown `kid` unless fetched in the last 30 s), kept when a fetch fails: a non-200 answer, malformed JSON, a
 * timeout. The last good keys then verify tokens while the fetch is retried every KEY_SET_RETRY_MS; a `kid` they do
 * not hold may be a key rotated in meanwhile, so it answers 503, as does a failure before any key set was read.
 */
function keySet(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url);
  let failure: { at: number; cause: unknown; lastGood: JWTVerifyGetKey | undefined } | undefined;
  const fromLastGood = async (...args: Parameters<JWTVerifyGetKey>) => {
    const { cause, lastGood } = failure!;
    if (lastGood === undefined) throw new KeySetUnavailable('The key set could not be fetched', { cause });
    try {
      return await lastGood(...args);
    } catch (err) {
      throw err instanceof errors.JWKSNoMatchingKey ? new KeySetUnavailable('The key set could not be refreshed', { cause }) : err;
    }
  };
  return async (...args) => {
    if (failure && performance.now() - failure.at < KEY_SET_RETRY_MS) return fromLastGood(...args);
    try {
      const key = await remote(...args);
      failure = undefined;
      return key;
    } catch (err) {
      if (isTokenError(err)) throw err;
      const known = remote.jwks();
      failure = { at: performance.now(), cause: err, lastGood: known && createLocalJWKSet(known) };
      return fromLastGood(...args);
    }
  };
}

function createVerifier(): Verifier {
  const cfg = config();
  // A token without `exp` would be good forever: refused whoever signed it.
  const claims = { issuer: cfg.AUTH_ISSUER, audience: cfg.AUTH_AUDIENCE, requiredClaims: ['exp'] };
  if (cfg.AUTH_JWKS_URL !== undefined) {
    // Keys are cached across warm invocations; asymmetric algorithms only.
    const jwks = keySet(new URL(cfg.AUTH_JWKS_URL));
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
    // The token was fine or not, but the key set could not be read: that is ours to fix, not the caller's.
    if (err instanceof KeySetUnavailable || !(err instanceof errors.JOSEError)) {
      throw new LockstepError('auth_unavailable', 'The token could not be verified right now', { cause: err, retryAfter: RETRY_AFTER_SECONDS });
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
