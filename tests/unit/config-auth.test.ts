import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';

const withJwks = (url: string) =>
  parseConfig({ DATABASE_URL: 'postgresql://u@127.0.0.1:5432/db', AUTH_JWKS_URL: url, AUTH_ISSUER: 'https://idp/', AUTH_AUDIENCE: 'lockstep' });

describe('AUTH_JWKS_URL', () => {
  it.each(['https://idp.example.com/.well-known/jwks.json', 'http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:9/jwks'])(
    'takes %s (https, or http on a loopback host)',
    (url) => {
      expect(withJwks(url).AUTH_JWKS_URL).toBe(url);
    },
  );

  it.each(['http://idp.example.com/.well-known/jwks.json', 'http://10.0.0.1/jwks', 'http://127.0.0.1.example.com/jwks', 'ftp://idp.example.com/jwks'])(
    'refuses %s: keys fetched in the clear could be swapped',
    (url) => {
      expect(() => withJwks(url)).toThrow(/^Invalid configuration: AUTH_JWKS_URL: /);
    },
  );
});
