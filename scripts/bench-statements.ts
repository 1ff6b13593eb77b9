/**
 * `npm run bench:statements`: SQL statements per request, counted from the server's own statement log
 * (log_statement=all, BEGIN and COMMIT included), for write routes with and without an Idempotency-Key.
 */
import { randomUUID } from 'node:crypto';
import { benchDatabase } from './bench-harness';
import { signDevToken } from './token';

const REQUESTS = 20;
let counting = false;
let statements = 0;
const bench = await benchDatabase({
  flags: ['-c', 'log_statement=all', '-c', 'log_line_prefix=%a|'],
  onLog: (message) => {
    if (!counting) return;
    // One log line per statement from the app's pool (application_name lockstep); migrations and setup excluded.
    statements += String(message).split('\n').filter((line) => /^lockstep\|LOG:\s+(statement|execute)/.test(line)).length;
  },
});
const { handler: register } = await import('../functions/registrations-create');
const { handler: cancel } = await import('../functions/registrations-cancel');
const { handler: createEvent } = await import('../functions/events-create');
const { handler: createCard } = await import('../functions/cards-create');
const { handler: updateSettings } = await import('../functions/settings-update');
const { closeDatabase } = await import('../src/db/client');
const token = await signDevToken(process.env.AUTH_JWT_SECRET ?? '', 'statement-counter');

type Handler = (event: never) => Promise<unknown>;
const invoke = (handler: Handler, body: unknown, extra: { params?: Record<string, string>; auth?: boolean; key?: string }) =>
  handler({
    headers: {
      'content-type': 'application/json',
      ...(extra.auth && { authorization: `Bearer ${token}` }),
      ...(extra.key && { 'idempotency-key': extra.key }),
    },
    pathParameters: extra.params,
    rawPath: '/bench',
    body: JSON.stringify(body),
    requestContext: { requestId: randomUUID() },
  } as never) as Promise<{ statusCode: number; body?: string }>;

// Warm up: the user row, the hot event, the pool.
await invoke(createEvent as Handler, { name: 'Statement Count', slug: 'counted', startsAt: '2027-01-01T00:00:00Z', capacity: null }, { auth: true });

const scenarios: Array<[string, (i: number, key: string | undefined) => Promise<{ statusCode: number }>]> = [
  ['POST /events/{slug}/registrations', (i, key) =>
    invoke(register as Handler, { name: 'N', email: `n${i}-${key ?? 'nokey'}@example.com` }, { params: { slug: 'counted' }, key })],
  ['POST /events (unique names)', (i, key) =>
    invoke(createEvent as Handler, { name: `Event ${i} ${key ?? 'nokey'}`, startsAt: '2027-01-01T00:00:00Z', capacity: 5 }, { auth: true, key })],
  ['POST /cards', (i, key) => invoke(createCard as Handler, { title: `Card ${i} ${key ?? ''}` }, { auth: true, key })],
  ['PUT /me/settings', (i, key) => invoke(updateSettings as Handler, { fontScale: 1 + (i % 5) / 10 }, { auth: true, key })],
];

const rows = [];
for (const [name, send] of scenarios) {
  const perRequest: Record<string, number> = {};
  for (const withKey of [false, true]) {
    statements = 0;
    counting = true;
    for (let i = 0; i < REQUESTS; i++) {
      const res = await send(i, withKey ? randomUUID() : undefined);
      if (res.statusCode >= 300) throw new Error(`${name} answered ${res.statusCode}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the log lines arrive
    counting = false;
    perRequest[withKey ? 'with key' : 'without key'] = statements / REQUESTS;
  }
  rows.push({ route: name, ...perRequest });
}
/**
 * Cancellations by token, counted apart from the registrations they cancel: with the queue empty (a drop before it
 * sells out) and with someone waiting (the cancellation promotes). Cancelling takes no Idempotency-Key.
 */
async function countCancellations(slug: string, capacity: number, registered: number): Promise<number> {
  await invoke(createEvent as Handler, { name: `Cancel ${slug}`, slug, startsAt: '2027-01-01T00:00:00Z', capacity }, { auth: true });
  const created: Array<{ id: string; cancelToken: string }> = [];
  for (let i = 0; i < registered; i++) {
    const res = await invoke(register as Handler, { name: 'C', email: `c${i}@${slug}.example.com` }, { params: { slug } });
    created.push(JSON.parse(res.body!) as { id: string; cancelToken: string });
  }
  statements = 0;
  counting = true;
  for (const { id, cancelToken } of created.slice(0, REQUESTS)) {
    const res = await cancel({
      headers: {},
      rawPath: '/bench',
      pathParameters: { slug, id },
      queryStringParameters: { token: cancelToken },
      requestContext: { requestId: randomUUID() },
    } as never);
    if ((res as { statusCode: number }).statusCode !== 204) throw new Error(`cancel answered ${(res as { statusCode: number }).statusCode}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  counting = false;
  return statements / REQUESTS;
}
rows.push({ route: 'DELETE …/registrations/{id}?token= (queue empty)', 'without key': await countCancellations('cancel-empty', 1000, REQUESTS) });
rows.push({ route: 'DELETE …/registrations/{id}?token= (someone waiting)', 'without key': await countCancellations('cancel-queue', REQUESTS, 2 * REQUESTS) });

console.log(`statements per request, mean of ${REQUESTS} requests each (from the server's statement log)`);
console.table(rows);
await closeDatabase();
await bench.stop();
