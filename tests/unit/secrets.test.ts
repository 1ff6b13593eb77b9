import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeAwsEnvironment, startFakeSecretsManager, type FakeSecretsManager } from '../helpers/fake-secrets-manager';

const DATABASE_URL = 'postgresql://lockstep:from-secrets-manager-pw@db.example.com:5432/lockstep';
const AUTH_JWT_SECRET = 'jwt-secret-from-secrets-manager-0123456789';

let fake: FakeSecretsManager;
beforeAll(async () => {
  fake = await startFakeSecretsManager();
  fake.put('lockstep/test/database-url', DATABASE_URL);
  fake.put('lockstep/test/auth-jwt-secret', AUTH_JWT_SECRET);
  fake.put('lockstep/test/not-a-url', 'mysql://root:hunter2-leaked@db');
});
afterAll(() => fake.close());
afterEach(() => {
  vi.unstubAllEnvs();
  fake.requests.length = 0;
});

/** A cold start in AWS: no plain secret, each named by its *_SECRET_ID; fresh modules, as a new instance has. */
function awsEnvironment(overrides: Record<string, string> = {}) {
  const env = {
    ...fakeAwsEnvironment(fake.endpoint),
    DATABASE_URL: '',
    AUTH_JWT_SECRET: '',
    DATABASE_URL_SECRET_ID: 'lockstep/test/database-url',
    AUTH_JWT_SECRET_SECRET_ID: 'lockstep/test/auth-jwt-secret',
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
}

describe('secrets', () => {
  it('an HTTP function reads the database URL and the JWT secret from Secrets Manager once per instance, before its configuration is parsed', async () => {
    awsEnvironment();
    const { config } = await import('../../src/config');
    await import('../../functions/events-get');
    expect(config()).toMatchObject({ DATABASE_URL, AUTH_JWT_SECRET });
    await import('../../functions/events-list'); // a second handler of the same instance reads nothing more
    expect([...fake.requests].sort()).toEqual(['lockstep/test/auth-jwt-secret', 'lockstep/test/database-url']);
    // The values live in the configuration only: nothing a child process or a dump of the environment would show.
    expect(process.env.DATABASE_URL).toBe('');
  });

  it('a scheduled job reads only the database URL', async () => {
    awsEnvironment();
    await import('../../functions/maintenance');
    expect(fake.requests).toEqual(['lockstep/test/database-url']);
  });

  it('a plain variable wins over its secret id, as under serverless offline', async () => {
    awsEnvironment({ DATABASE_URL: 'postgresql://local@127.0.0.1:5432/lockstep' });
    const { databaseConfig } = await import('../../src/config');
    await import('../../functions/events-get');
    expect(databaseConfig().DATABASE_URL).toBe('postgresql://local@127.0.0.1:5432/lockstep');
    expect(fake.requests).toEqual(['lockstep/test/auth-jwt-secret']);
  });

  it('a secret that cannot be read fails the cold start, naming its variable', async () => {
    awsEnvironment({ DATABASE_URL_SECRET_ID: 'lockstep/test/missing' });
    await expect(import('../../functions/events-get')).rejects.toThrow(
      'DATABASE_URL_SECRET_ID: could not read the secret (ResourceNotFoundException)',
    );
  });

  it('a secret with a bad value fails the cold start without showing the value', async () => {
    awsEnvironment({ DATABASE_URL_SECRET_ID: 'lockstep/test/not-a-url' });
    const failure = await import('../../functions/events-get').then(() => undefined, (err: Error) => err);
    expect(failure?.message).toBe('Invalid configuration: DATABASE_URL: Invalid URL');
    expect(failure?.message).not.toContain('hunter2');
  });
});
