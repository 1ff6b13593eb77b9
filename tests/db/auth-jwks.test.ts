import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LambdaHandler } from '../../src/http/route';
import { call, token } from '../helpers/api';

/** The AWS configuration: tokens verified against a JWKS endpoint, with issuer and audience enforced. */
let server: Server;
let getMe: LambdaHandler;
let privateKey: CryptoKey;
const ISSUER = 'https://idp.test/';
const AUDIENCE = 'lockstep';

const signed = (claims: { sub: string; iss?: string; aud?: string }, key = privateKey, kid = 'k1') =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid })
    .setSubject(claims.sub)
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey as CryptoKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
  server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vi.resetModules();
  vi.stubEnv('AUTH_JWKS_URL', `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
  vi.stubEnv('AUTH_JWT_SECRET', '');
  vi.stubEnv('AUTH_ISSUER', ISSUER);
  vi.stubEnv('AUTH_AUDIENCE', AUDIENCE);
  getMe = (await import('../../functions/me-get')).handler;
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
    ['an unknown key', async () => signed({ sub: 'x' }, (await generateKeyPair('RS256')).privateKey as CryptoKey, 'k2')],
    ['an HS256 token (local secrets are off in AWS mode)', () => token('x', {}, 'lockstep-test-secret-0123456789abcdef')],
  ])('refuses %s with 401', async (_, make) => {
    const res = await call(getMe, { as: { token: await make() } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthorized');
  });
});

describe('JWKS outage', () => {
  it('answers 503 auth_unavailable, not 401, when the key set cannot be fetched', async () => {
    vi.resetModules();
    vi.stubEnv('AUTH_JWKS_URL', 'http://127.0.0.1:1/.well-known/jwks.json');
    const unreachable = (await import('../../functions/me-get')).handler;
    const res = await call(unreachable, { as: { token: await signed({ sub: 'jwks-user' }) } });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('auth_unavailable');
    expect(res.headers['retry-after']).toBe('5');
  });
});
