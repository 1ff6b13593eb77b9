import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/local-postgres';
import { token } from '../helpers/api';
import { testDatabaseUrl } from '../setup/database';

/** The real thing: `serverless offline` with the bundled handlers, over HTTP. */
let server: ChildProcess;
let base: string;
let output = '';

beforeAll(async () => {
  const [port, lambdaPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  server = spawn('npx', ['serverless', 'offline', 'start'], {
    // The pool size serverless.yml gives every function in AWS: one connection per instance.
    env: { ...process.env, DATABASE_URL: testDatabaseUrl, DATABASE_POOL_MAX: '1', PORT: String(port), LAMBDA_PORT: String(lambdaPort) },
    detached: true,
  });
  server.stdout?.on('data', (chunk) => (output += chunk));
  server.stderr?.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (!output.includes('Server ready')) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`offline did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120_000);

afterAll(() => {
  if (server.pid) process.kill(-server.pid, 'SIGTERM');
});

describe('serverless offline', () => {
  it('serves /health without a stage prefix', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', database: 'ok' });
  });

  it('creates and reads an event over HTTP', async () => {
    const created = await fetch(`${base}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('e2e-user')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Offline Launch', startsAt: '2027-06-01T09:00:00Z', capacity: 10 }),
    });
    expect(created.status).toBe(201);
    const event = (await created.json()) as { slug: string };
    const fetched = await fetch(`${base}/events/${event.slug}`);
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toMatchObject({ slug: 'offline-launch', capacity: 10, spotsLeft: 10 });
  });

  it('answers bad input with problem+json, never a 5xx', async () => {
    const auth = { authorization: `Bearer ${await token('e2e-user')}`, 'content-type': 'application/json' };
    const badJson = await fetch(`${base}/events`, { method: 'POST', headers: auth, body: '{"name":' });
    expect(badJson.status).toBe(400);
    expect(badJson.headers.get('content-type')).toBe('application/problem+json');
    expect(((await badJson.json()) as { code: string }).code).toBe('invalid_json');
    const tooBig = await fetch(`${base}/events`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x'.repeat(70_000) }) });
    expect(tooBig.status).toBe(413);
    const anonymous = await fetch(`${base}/me`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('unauthorized');
  });
});
