/**
 * `npm run bench:slugs`: N concurrent POST /events with one name (default 100), several rounds, through the
 * in-process handler; prints insert attempts per create and the wall time.
 */
import { benchDatabase } from './bench-harness';
import { signDevToken } from './token';

const concurrency = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 5);
const bench = await benchDatabase();
process.env.DATABASE_POOL_MAX ||= '20';
const { handler } = await import('../functions/events-create');
const { slugAllocationStats } = await import('../src/slug/allocate');
const { closeDatabase } = await import('../src/db/client');

const token = await signDevToken(process.env.AUTH_JWT_SECRET ?? '', 'bench-organizer');
const rows = [];
for (let round = 1; round <= rounds; round++) {
  const before = { ...slugAllocationStats };
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const res = await handler({
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Contended ${round}`, startsAt: '2027-01-01T00:00:00Z', capacity: 10 }),
        requestContext: { requestId: 'bench' },
      } as never);
      return (res as { statusCode: number }).statusCode;
    }),
  );
  const creates = slugAllocationStats.allocations - before.allocations;
  const attempts = slugAllocationStats.insertAttempts - before.insertAttempts;
  rows.push({
    round,
    concurrency,
    created: statuses.filter((s) => s === 201).length,
    insertAttemptsPerCreate: +(attempts / creates).toFixed(3),
    wallMs: Math.round(performance.now() - started),
  });
}
console.table(rows);
await closeDatabase();
await bench.stop();
