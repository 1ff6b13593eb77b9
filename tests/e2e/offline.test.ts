import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/local-postgres';
import { randomUUID } from 'node:crypto';
import { token } from '../helpers/api';
import { assertEventInvariants } from '../helpers/invariants';
import { sqlClient } from '../helpers/sql';
import { testDatabaseUrl } from '../setup/database';

const sql = sqlClient();

/** The real thing: `serverless offline` with the bundled handlers, over HTTP. */
let server: ChildProcess;
let base: string;
let output = '';

beforeAll(async () => {
  const [port, lambdaPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  server = spawn('npx', ['serverless', 'offline', 'start'], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl, PORT: String(port), LAMBDA_PORT: String(lambdaPort) },
    detached: true,
  });
  server.stdout?.on('data', (chunk) => (output += chunk));
  server.stderr?.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 170_000;
  while (!output.includes('Server ready')) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`offline did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 180_000);

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

describe('a ticket rush through serverless offline', () => {
  const organizer = () => token('rush-organizer').then((t) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' }));

  async function rushEvent(name: string, capacity: number): Promise<{ id: string; slug: string }> {
    const res = await fetch(`${base}/events`, {
      method: 'POST',
      headers: await organizer(),
      body: JSON.stringify({ name, startsAt: '2027-06-01T09:00:00Z', capacity }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; slug: string };
  }

  /** A failed invocation shows up as a 200 or a Lambda error body with a stack: neither may ever appear. */
  function expectCleanAnswer(status: number, text: string) {
    expect(status).not.toBe(200);
    expect(text).not.toMatch(/stackTrace|errorMessage|\n\s+at /);
  }

  const register = (slug: string, body: object, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${base}/events/${slug}/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
    });

  it('300 concurrent registrations for one event: 300 × 201, invariants hold', async () => {
    const event = await rushEvent('Rush 300', 120);
    const answers = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const res = await register(event.slug, { name: `Fan ${i}`, email: `fan${i}@example.com`, spots: 1 + (i % 2) });
        return { status: res.status, text: await res.text() };
      }),
    );
    for (const { status, text } of answers) expectCleanAnswer(status, text);
    expect(answers.map((a) => a.status)).toEqual(Array(300).fill(201));
    await assertEventInvariants(sql, event.id);
    expect(await sql('select count(*)::int as n from registrations where event_id = $1', [event.id])).toEqual([{ n: 300 }]);
  });

  it('1,000 clients with Idempotency-Keys that give up early and retry: each registered exactly once', async () => {
    const event = await rushEvent('Rush keyed', 400);
    const seen: Array<{ status: number; text: string }> = [];
    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const key = randomUUID();
        const body = { name: `Keyed ${i}`, email: `keyed${i}@example.com` };
        // The first attempt of every third client is abandoned after 50 ms, as an impatient client would.
        for (let attempt = 0; attempt < 30; attempt++) {
          const signal = attempt === 0 && i % 3 === 0 ? AbortSignal.timeout(50) : undefined;
          let res: Response;
          try {
            res = await register(event.slug, body, { 'idempotency-key': key }, signal);
          } catch {
            continue; // abandoned: send the same request again
          }
          const text = await res.text();
          seen.push({ status: res.status, text });
          if (res.status === 201) return { key, replayed: res.headers.get('idempotent-replayed') === 'true', body: JSON.parse(text) };
          // Busy (409 in flight, 503): wait as told, then retry with the same key.
          expect([409, 503]).toContain(res.status);
          if (res.status === 409) expect(JSON.parse(text).code).toBe('idempotency_key_in_flight');
          expect(res.headers.get('retry-after')).not.toBeNull();
          await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        }
        throw new Error(`client ${i} never got an answer`);
      }),
    );
    for (const { status, text } of seen) expectCleanAnswer(status, text);
    expect(outcomes).toHaveLength(1000);
    await assertEventInvariants(sql, event.id);
    const [stored] = await sql(
      `select (select count(*)::int from registrations where event_id = $1) as registrations,
         (select count(*)::int from idempotency_keys) as keys`,
      [event.id],
    );
    expect(stored).toEqual({ registrations: 1000, keys: 1000 });
    // Every client's final answer names a registration that exists, once.
    const ids = new Set(outcomes.map((o) => o.body.id));
    expect(ids.size).toBe(1000);
    const [{ n }] = (await sql('select count(*)::int as n from registrations where id = any($1::uuid[])', [[...ids]])) as [{ n: number }];
    expect(n).toBe(1000);
  }, 180_000);
});
