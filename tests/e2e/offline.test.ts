import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS } from '../../src/http/cors';
import { randomUUID } from 'node:crypto';
import { token } from '../helpers/api';
import { assertEventInvariants } from '../helpers/invariants';
import { sqlClient } from '../helpers/sql';
import { findChromium, openTab, type Tab } from '../helpers/chromium';
import { authorize, openReference, tryIt } from '../helpers/swagger-ui';
import { allRoutes } from '../../src/openapi';
import { startApi, type Api } from '../helpers/offline';
import { WebhookReceiver } from '../helpers/webhook-receiver';
import type { paths } from './openapi-types';

/**
 * The real thing: `serverless offline` with the bundled handlers behind the CORS gateway, over HTTP, as `npm run
 * dev` serves it; browsers are headless Chromium. Two blank pages: one from an origin CORS_ALLOWED_ORIGINS lists,
 * one from an origin it does not.
 */
const sql = sqlClient();
let api: Api;
let base: string;
let pages: Server[];
let allowedOrigin: string;
let unlistedOrigin: string;

async function servePage(): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

beforeAll(async () => {
  pages = [await servePage(), await servePage()];
  [allowedOrigin, unlistedOrigin] = pages.map(originOf) as [string, string];
  // Loopback endpoints (the webhook receiver below) by the explicit development setting.
  api = await startApi({ CORS_ALLOWED_ORIGINS: `https://app.example.com,${allowedOrigin}`, WEBHOOK_ALLOW_LOOPBACK: 'true' });
  base = api.base;
}, 180_000);

afterAll(async () => {
  await api?.stop();
  for (const page of pages ?? []) page.close();
});

describe('serverless offline', () => {
  it('a registration reaches a subscribed endpoint: the handler wakes the deliverer after its commit', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const headers = { authorization: `Bearer ${await token('hook-e2e')}`, 'content-type': 'application/json' };
      const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const created = await post('/events', { name: 'Hooked over HTTP', startsAt: '2027-05-01T10:00:00Z', capacity: 5 });
      const event = (await created.json()) as { slug: string };
      const hook = await post('/webhooks', { url: receiver.url });
      expect(hook.status).toBe(201);
      receiver.secrets = [((await hook.json()) as { secret: string }).secret];
      const registered = await post(`/events/${event.slug}/registrations`, { name: 'Woken', email: 'woken@example.com' });
      expect(registered.status).toBe(201);
      const { id } = (await registered.json()) as { id: string };
      // No schedule runs here: only the wake-up can deliver it.
      for (let waited = 0; receiver.received.length === 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(receiver.received.map((m) => [m.body.type, m.body.data.registration.id])).toEqual([['registration.confirmed', id]]);
    } finally {
      await receiver.stop();
    }
  });

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

/**
 * The request classes of the fuzz suite (tests/helpers/fuzz.ts), over HTTP: whatever offline's own HTTP server would
 * make of them, the answer is the function's, problem+json included, or API Gateway's own where AWS never calls a
 * function (no such route).
 */
describe('answers like the deployed function (the dev gateway)', () => {
  let slug: string;
  let auth: string;
  beforeAll(async () => {
    auth = `Bearer ${await token('gateway-user')}`;
    const created = await fetch(`${base}/events`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Gateway Day', startsAt: '2027-06-01T09:00:00Z', capacity: 3 }),
    });
    slug = ((await created.json()) as { slug: string }).slug;
  });

  const problem = async (res: Response) => ({
    status: res.status,
    type: res.headers.get('content-type'),
    code: ((await res.json()) as { code?: string }).code,
  });
  const refused = (status: number, code: string) => ({ status, type: 'application/problem+json', code });

  it.each([
    ['multipart/form-data', 415, 'unsupported_media_type'],
    ['multipart/form-data; boundary=x', 415, 'unsupported_media_type'],
    ['text/plain', 415, 'unsupported_media_type'],
    ['application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['application/jsonp', 415, 'unsupported_media_type'],
    ['APPLICATION/JSON', 400, 'validation_failed'],
    ['application/json; charset=utf-16', 400, 'validation_failed'],
    ['application/problem+json', 400, 'validation_failed'],
  ])('PATCH with Content-Type %s → %i %s', async (contentType, status, code) => {
    const res = await fetch(`${base}/events/${slug}`, {
      method: 'PATCH',
      headers: { authorization: auth, 'content-type': contentType },
      body: '{"capacity":"x"}',
    });
    expect(await problem(res)).toEqual(refused(status, code));
  });

  it('a real multipart form → 415 problem+json', async () => {
    const form = new FormData();
    form.set('capacity', '5');
    const res = await fetch(`${base}/events/${slug}`, { method: 'PATCH', headers: { authorization: auth }, body: form });
    expect(await problem(res)).toEqual(refused(415, 'unsupported_media_type'));
  });

  const register = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}/events/${slug}/registrations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it.each([70_000, 7_000_000, 11_000_000])('a body of %i bytes → 413 payload_too_large', async (size) => {
    expect(await problem(await register(JSON.stringify({ pad: 'x'.repeat(size) })))).toEqual(refused(413, 'payload_too_large'));
  });

  it.each([
    ['deep nesting', `${'['.repeat(30_000)}${']'.repeat(30_000)}`, 'validation_failed'],
    ['duplicate keys', '{"name":"a","name":"b"}', 'validation_failed'],
    ['an escaped NUL', '{"name":"a\\u0000"}', 'validation_failed'],
    ['a number JSON cannot hold', '{"spots":1e400}', 'validation_failed'],
    ['a byte-order mark', '\uFEFF{}', 'invalid_json'],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid_json'],
    ['an unclosed object', '{"name":', 'invalid_json'],
  ])('a body with %s → 400 %s', async (_, body, code) => {
    expect(await problem(await register(body))).toEqual(refused(400, code));
  });

  it.each([
    ['', 'invalid_idempotency_key'],
    ['x'.repeat(256), 'invalid_idempotency_key'],
  ])('Idempotency-Key %j → 400 %s', async (key, code) => {
    expect(await problem(await register('{}', { 'idempotency-key': key }))).toEqual(refused(400, code));
  });

  it.each([
    ['/events/%ED%A0%80', 404, 'not_found'],
    ['/events/a%00b', 400, 'validation_failed'],
    [`/events/${'a'.repeat(201)}`, 400, 'validation_failed'],
    ['/events?limit=1&limit=2', 400, 'validation_failed'],
    ['/events?cursor=%00', 400, 'validation_failed'],
  ])('GET %s → %i %s', async (path, status, code) => {
    expect(await problem(await fetch(`${base}${path}`))).toEqual(refused(status, code));
  });

  it.each([
    ['PUT', '/events/x'],
    ['DELETE', '/health'],
    ['POST', '/nowhere'],
    ['HEAD', '/health'],
    ['OPTIONS', '/events'],
  ])("%s %s (no such route) → API Gateway's own 404", async (method, path) => {
    const res = await fetch(`${base}${path}`, { method });
    expect(res.status).toBe(404);
    if (method !== 'HEAD') expect(await res.json()).toEqual({ message: 'Not Found' });
  });
});

describe('API reference', () => {
  it('GET /openapi.json serves the committed document; GET /docs an HTML page', async () => {
    const document = await fetch(`${base}/openapi.json`);
    expect(document.status).toBe(200);
    expect(await document.json()).toEqual(JSON.parse(await readFile('docs/openapi.json', 'utf8')));
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>lockstep 1.0.0 API reference</title>');
  });
});

describe('CORS over HTTP', () => {
  const preflight = (origin: string) =>
    fetch(`${base}/events`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });

  it('a preflight from a listed origin allows Authorization, Content-Type and Idempotency-Key', async () => {
    const res = await preflight(allowedOrigin);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(',');
    for (const header of CORS_ALLOWED_HEADERS) expect(allowed).toContain(header.toLowerCase());
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('answers expose Idempotent-Replayed and Retry-After to a listed origin', async () => {
    const headers = {
      origin: allowedOrigin,
      authorization: `Bearer ${await token('cors-user')}`,
      'content-type': 'application/json',
      'idempotency-key': `cors-${Date.now()}`,
    };
    const body = JSON.stringify({ name: 'Cors Launch', startsAt: '2027-06-01T09:00:00Z', capacity: 5 });
    const first = await fetch(`${base}/events`, { method: 'POST', headers, body });
    expect(first.status).toBe(201);
    expect(first.headers.get('access-control-allow-origin')).toBe(allowedOrigin);
    const exposed = first.headers.get('access-control-expose-headers')!.toLowerCase().split(',');
    for (const header of CORS_EXPOSED_HEADERS) expect(exposed).toContain(header.toLowerCase());
    const replay = await fetch(`${base}/events`, { method: 'POST', headers, body });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('an origin that is not listed gets no Access-Control-Allow-Origin, on a preflight or an answer', async () => {
    const res = await preflight(unlistedOrigin);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const answer = await fetch(`${base}/health`, { headers: { origin: unlistedOrigin } });
    expect(answer.status).toBe(200);
    expect([...answer.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });
});

// The types are tests/e2e/openapi-types.ts, generated by `npm run openapi` (a unit test fails when they are stale).
describe('a typed client (openapi-typescript + openapi-fetch)', () => {
  it('creates an event, registers, reads the stats, and gets a typed 409', async () => {
    const client = createClient<paths>({ baseUrl: base });
    const auth = { authorization: `Bearer ${await token('typed-client')}` };
    const created = await client.POST('/events', {
      headers: auth,
      body: { name: 'Typed Client Day', startsAt: '2027-07-01T09:00:00Z', capacity: 2 },
    });
    expect(created.response.status).toBe(201);
    const slug = created.data!.slug;
    const registration = await client.POST('/events/{slug}/registrations', {
      params: { path: { slug } },
      body: { name: 'Ada', email: 'ada@example.com', spots: 2 },
    });
    expect(registration.data).toMatchObject({ status: 'CONFIRMED', spots: 2 });
    const again = await client.POST('/events/{slug}/registrations', {
      params: { path: { slug } },
      body: { name: 'Ada again', email: 'ADA@example.com' },
    });
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ status: 409, code: 'already_registered' });
    const stats = await client.GET('/events/{slug}/stats', { params: { path: { slug } }, headers: auth });
    expect(stats.data).toMatchObject({ capacity: 2, spotsReserved: 2, confirmedSpots: 2, consistent: true });
  });
});

describe('in headless Chromium', async () => {
  const chromium = await findChromium();
  if ('missing' in chromium) console.warn(`Skipping the browser tests: ${chromium.missing}`);
  let tab: Tab;
  beforeAll(async () => {
    if ('path' in chromium) tab = await openTab(chromium.path);
  }, 60_000);
  afterAll(() => tab?.close());

  it.skipIf('missing' in chromium)('/docs sends what the reader enters: a registration answered 201 is in the database', async () => {
    expect(await openReference(tab, `${base}/docs`)).toBe(allRoutes.length);
    await authorize(tab, await token('docs-reader'));
    const created = await tryIt(tab, { tag: 'events', operationId: 'createEvent' }, {
      params: { 'Idempotency-Key': randomUUID() },
      body: { name: 'Docs Launch', startsAt: '2027-05-01T09:00:00Z', capacity: 1 },
    });
    expect(created.status).toBe(201);
    const event = JSON.parse(created.body) as { id: string; slug: string };
    const key = randomUUID();
    const register = () =>
      tryIt(tab, { tag: 'registrations', operationId: 'createRegistration' }, {
        params: { slug: event.slug, 'Idempotency-Key': key },
        body: { name: 'Ada', email: 'ada@docs.example.com', spots: 1 },
      });
    const registered = await register();
    expect(registered.status).toBe(201);
    expect(registered.curl).toContain(`-H 'Idempotency-Key: ${key}'`);
    const { id } = JSON.parse(registered.body) as { id: string };
    expect(await sql('select event_id, email, status from registrations where id = $1', [id])).toEqual([
      { event_id: event.id, email: 'ada@docs.example.com', status: 'CONFIRMED' },
    ]);
    // The same key again: the stored answer, shown with the replay header.
    const replayed = await register();
    expect({ status: replayed.status, body: JSON.parse(replayed.body) }).toEqual({ status: 201, body: JSON.parse(registered.body) });
    expect(replayed.headers).toContain('idempotent-replayed: true');
    // Offline: everything the page loaded came from the instance serving it.
    const loaded = await tab.evaluate<string[]>(`performance.getEntriesByType('resource').map((entry) => entry.name)`);
    expect(loaded.filter((url) => !url.startsWith(`${base}/`))).toEqual([]);
  });

  it.skipIf('missing' in chromium)('a page from a listed origin creates an event; an unlisted origin is blocked', async () => {
    const bearer = await token('browser-user');
    const create = (name: string) => `fetch(${JSON.stringify(`${base}/events`)}, {
      method: 'POST',
      headers: { authorization: 'Bearer ${bearer}', 'content-type': 'application/json', 'idempotency-key': '${name}' },
      body: JSON.stringify({ name: '${name}', startsAt: '2027-08-01T09:00:00Z', capacity: 3 }),
    }).then(async (res) => ({ status: res.status, slug: (await res.json()).slug, replayed: res.headers.get('idempotent-replayed') }),
            (err) => ({ error: String(err) }))`;
    await tab.goto(`${allowedOrigin}/`);
    expect(await tab.evaluate(create('Browser Launch'))).toEqual({ status: 201, slug: 'browser-launch', replayed: null });
    // A retry with the same key: the replay header is readable because it is exposed.
    expect(await tab.evaluate(create('Browser Launch'))).toEqual({ status: 201, slug: 'browser-launch', replayed: 'true' });
    await tab.goto(`${unlistedOrigin}/`);
    expect(await tab.evaluate(create('Blocked Launch'))).toEqual({ error: 'TypeError: Failed to fetch' });
    expect((await fetch(`${base}/events/blocked-launch`)).status).toBe(404);
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
    const keysBefore = (await sql('select count(*)::int as n from idempotency_keys'))[0]!.n as number;
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
          expect([409, 503], text).toContain(res.status);
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
         (select count(*)::int from idempotency_keys) - $2 as keys`,
      [event.id, keysBefore],
    );
    expect(stored).toEqual({ registrations: 1000, keys: 1000 });
    // Every client's final answer names a registration that exists, once.
    const ids = new Set(outcomes.map((o) => o.body.id));
    expect(ids.size).toBe(1000);
    const [{ n }] = (await sql('select count(*)::int as n from registrations where id = any($1::uuid[])', [[...ids]])) as [{ n: number }];
    expect(n).toBe(1000);
  }, 180_000);
});
