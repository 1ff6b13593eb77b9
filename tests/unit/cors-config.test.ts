import { describe, expect, it } from 'vitest';
import { parseCorsConfig } from '../../src/config';
import { httpApiCors } from '../../src/http/cors';

describe('CORS_ALLOWED_ORIGINS', () => {
  it('unset or empty: no origin, and serverless.yml gets no CORS', () => {
    expect(parseCorsConfig({}).CORS_ALLOWED_ORIGINS).toEqual([]);
    expect(parseCorsConfig({ CORS_ALLOWED_ORIGINS: '' }).CORS_ALLOWED_ORIGINS).toEqual([]);
    expect(httpApiCors([])).toBe(false);
  });

  it('a comma-separated list of origins, spaces ignored, becomes API Gateway CORS', () => {
    const { CORS_ALLOWED_ORIGINS } = parseCorsConfig({ CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173,' });
    expect(CORS_ALLOWED_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(httpApiCors(CORS_ALLOWED_ORIGINS)).toEqual({
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
      allowedMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      exposedResponseHeaders: ['Idempotent-Replayed', 'Retry-After'],
      maxAge: 600,
    });
  });

  it.each(['https://app.example.com/', 'app.example.com', 'https://app.example.com/path', 'ftp://x'])(
    'refuses %s, naming the variable and not echoing the value',
    (origin) => {
      expect(() => parseCorsConfig({ CORS_ALLOWED_ORIGINS: origin })).toThrow(/^Invalid configuration: CORS_ALLOWED_ORIGINS\.0: /);
    },
  );
});
