import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LambdaHandler } from '../../src/http/route';
import { call, token } from '../helpers/api';

/** The AWS configuration: tokens verified against a JWKS endpoint, with issuer and audience enforced. */
let server: Server;
let jwksUrl: string;
let getMe: LambdaHandler;
const ISSUER = 'https://idp.test/';
const AUDIENCE = 'lockstep';

/** Signing keys by kid; the endpoint publishes the public halves of those listed in `published`. */
const keys = new Map<string, { privateKey: CryptoKey; jwk: JWK }>();
const endpoint = { answer: 'keys' as 'keys' | 'error' | 'garbage', published: ['k1'], fetches: 0 };

const signed = (claims: { sub: string; iss?: string; aud?: string }, kid = 'k1') =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(keys.get(kid)!.privateKey);

async function addKey(kid: string) {
  const pair = await generateKeyPair('RS256');
  keys.set(kid, { privateKey: pair.privateKey as CryptoKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' } });
}

/** The handler with a verifier of its own: no key set fetched yet. */
async function freshHandler(): Promise<LambdaHandler> {
  vi.resetModules();
  return (await import('../../functions/me-get')).handler;
}

beforeAll(async () => {
  await Promise.all(['k1', 'k2', 'stranger'].map(addKey));
  server = createServer((_, res) => {
    endpoint.fetches++;
    if (endpoint.answer === 'error') return res.writeHead(502).end('Bad Gateway');
    const body = JSON.stringify({ keys: endpoint.published.map((kid) => keys.get(kid)!.jwk) });
    res.writeHead(200, { 'content-type': 'application/json' }).end(endpoint.answer === 'garbage' ? body.slice(0, -7) : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  vi.stubEnv('AUTH_JWKS_URL', jwksUrl);
  vi.stubEnv('AUTH_JWT_SECRET', '');
  vi.stubEnv('AUTH_ISSUER', ISSUER);
  vi.stubEnv('AUTH_AUDIENCE', AUDIENCE);
  getMe = await freshHandler();
});

afterEach(() => {
  vi.useRealTimers();
  Object.assign(endpoint, { answer: 'keys', published: ['k1'] });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  vi.resetModules();
  await new Promise((resolve) => server.close(resolve));
});

describe('JWKS verification', () => {
  it('accepts an RS256 token from the key set with the right issuer and audience', async () => {
    const res = await call(getMe, { as: { token: await signed({ sub: 'jwks-user' }) } });
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('jwks-user');
  });

  it.each([
    ['a wrong issuer', () => signed({ sub: 'x', iss: 'https://evil.test/' })],
    ['a wrong audience', () => signed({ sub: 'x', aud: 'someone-else' })],
    ['an unknown key', () => signed({ sub: 'x' }, 'stranger')],
    ['an HS256 token (local secrets are off in AWS mode)', () => token('x', {}, 'lockstep-test-secret-0123456789abcdef')],
  ])('refuses %s with 401', async (_, make) => {
    const res = await call(getMe, { as: { token: await make() } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthorized');
  });

  it('fetches the key set again for a kid it has not seen (a rotation), once its 30 s cooldown is over', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const handler = await freshHandler();
    expect((await call(handler, { as: { token: await signed({ sub: 'jwks-user' }) } })).status).toBe(200);
    endpoint.published = ['k1', 'k2'];
    const fetched = endpoint.fetches;
    vi.advanceTimersByTime(31_000);
    expect((await call(handler, { as: { token: await signed({ sub: 'jwks-user' }, 'k2') } })).status).toBe(200);
    expect(endpoint.fetches).toBe(fetched + 1);
  });
});

describe('JWKS outage', () => {
  it.each([
    ['answers non-200', 'error'],
    ['answers malformed JSON', 'garbage'],
  ] as const)('answers 503 auth_unavailable, not 401, when the key set endpoint %s', async (_, answer) => {
    endpoint.answer = answer;
    const res = await call(await freshHandler(), { as: { token: await signed({ sub: 'jwks-user' }) } });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('auth_unavailable');
    expect(res.headers['retry-after']).toBe('5');
  });

  it('answers 503 auth_unavailable when the key set endpoint is unreachable', async () => {
    vi.stubEnv('AUTH_JWKS_URL', 'http://127.0.0.1:1/.well-known/jwks.json');
    try {
      const res = await call(await freshHandler(), { as: { token: await signed({ sub: 'jwks-user' }) } });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('auth_unavailable');
    } finally {
      vi.stubEnv('AUTH_JWKS_URL', jwksUrl);
    }
  });

  it('keeps verifying with the last good keys while the endpoint fails, without a fetch per request', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const handler = await freshHandler();
    expect((await call(handler, { as: { token: await signed({ sub: 'jwks-user' }) } })).status).toBe(200);
    endpoint.answer = 'error';
    // Past jose's 10-minute cache: the next request fetches, fails, and is verified with the keys it had.
    vi.advanceTimersByTime(11 * 60_000);
    const fetched = endpoint.fetches;
    const again = await Promise.all(Array.from({ length: 3 }, async () => call(handler, { as: { token: await signed({ sub: 'jwks-user' }) } })));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
    // A kid the old keys lack may have been rotated in: the caller is not at fault.
    endpoint.published = ['k1', 'k2'];
    const rotated = await call(handler, { as: { token: await signed({ sub: 'jwks-user' }, 'k2') } });
    expect(rotated).toMatchObject({ status: 503, body: { code: 'auth_unavailable' } });
    expect(endpoint.fetches).toBe(fetched + 1);
    // Retried after the pause, and the endpoint is back.
    endpoint.answer = 'keys';
    vi.advanceTimersByTime(5_000);
    expect((await call(handler, { as: { token: await signed({ sub: 'jwks-user' }, 'k2') } })).status).toBe(200);
  });
});
