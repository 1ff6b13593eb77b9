import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as updateEvent } from '../../functions/events-update';
import { handler as cancelRegistration } from '../../functions/registrations-cancel';
import { handler as register } from '../../functions/registrations-create';
import { handler as updateRegistration } from '../../functions/registrations-update';
import { call, type Result } from '../helpers/api';
import { assertEventInvariants } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';

/**
 * The queue against a sequential model of it. Each run drives one event through rounds; a round sends its
 * operations (registrations, cancellations by token, the organizer's status changes, capacity changes) all at once.
 * The round is correct when some order of its operations, applied one at a time to the model, answers what each
 * request answered and ends in the state the database holds: every status, the queue's order, the capacity
 * (linearizability, checked by trying every order of the round). The SQL invariants are asserted after every run.
 */
const sql = sqlClient();
const ORGANIZER = 'organizer';

type Status = 'CONFIRMED' | 'WAITLIST' | 'CANCELLED';
type Op =
  | { kind: 'register'; spots: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'status'; pick: number; to: Status }
  | { kind: 'capacity'; capacity: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('register' as const), spots: fc.integer({ min: 1, max: 3 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('status' as const), pick: fc.nat(), to: fc.constantFrom<Status>('CONFIRMED', 'WAITLIST', 'CANCELLED') }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('capacity' as const), capacity: fc.integer({ min: 0, max: 8 }) }), weight: 1 },
);

interface Model {
  capacity: number;
  spots: Map<string, number>;
  status: Map<string, Status>;
  /** Waiting registrations, head first. */
  queue: string[];
}

const clone = (m: Model): Model => ({ capacity: m.capacity, spots: new Map(m.spots), status: new Map(m.status), queue: [...m.queue] });
const reserved = (m: Model) => [...m.status].reduce((sum, [key, status]) => sum + (status === 'CONFIRMED' ? m.spots.get(key)! : 0), 0);

/** Strict FIFO: confirm the head while it fits, stop at the first that does not. */
function promote(m: Model): void {
  while (m.queue.length > 0 && reserved(m) + m.spots.get(m.queue[0]!)! <= m.capacity) m.status.set(m.queue.shift()!, 'CONFIRMED');
}

function move(m: Model, key: string, to: Status): string {
  const from = m.status.get(key)!;
  if (from === to) return '200';
  const spots = m.spots.get(key)!;
  if (to === 'CONFIRMED' && reserved(m) - (from === 'CONFIRMED' ? spots : 0) + spots > m.capacity) return '409 capacity_exceeded';
  if (to === 'WAITLIST' && spots > m.capacity) return '409 capacity_exceeded';
  m.queue = m.queue.filter((k) => k !== key);
  m.status.set(key, to);
  if (to === 'WAITLIST') m.queue.push(key);
  promote(m);
  return '200';
}

/** One operation on the model, answering what the API should: its status code and what the answer shows. */
function apply(m: Model, o: Planned): string {
  switch (o.kind) {
    case 'register': {
      if (o.spots > m.capacity) return '409 capacity_exceeded';
      m.spots.set(o.key, o.spots);
      if (m.queue.length === 0 && reserved(m) + o.spots <= m.capacity) {
        m.status.set(o.key, 'CONFIRMED');
        return '201 CONFIRMED';
      }
      m.status.set(o.key, 'WAITLIST');
      m.queue.push(o.key);
      return `201 WAITLIST ${m.queue.length}`;
    }
    case 'cancel':
      move(m, o.key, 'CANCELLED');
      return '204';
    case 'status':
      return move(m, o.key, o.to);
    case 'capacity': {
      if (o.capacity < reserved(m)) return '409 capacity_below_reserved';
      if (m.queue.some((key) => m.spots.get(key)! > o.capacity)) return '409 capacity_below_waiting';
      m.capacity = o.capacity;
      promote(m);
      return `200 ${reserved(m)} ${m.queue.length}`;
    }
  }
}

/** An operation bound to the registration it concerns: a new email, or one picked among those its round starts with. */
type Planned = Op & { key: string };

/** What a response shows that the model predicts (a PATCH answers the registration as read after it: code only). */
function observed(o: Planned, res: Result): string {
  if (res.status >= 400) return `${res.status} ${res.body.code}`;
  if (o.kind === 'register') return res.body.status === 'WAITLIST' ? `201 WAITLIST ${res.body.waitlistPosition}` : `201 ${res.body.status}`;
  if (o.kind === 'capacity') return `200 ${res.body.spotsReserved} ${res.body.waitlistCount}`;
  return String(res.status);
}

function* orders<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of orders([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest];
  }
}

/** The database's state of the event, in the model's terms. */
async function stored(eventId: string, keyOf: Map<string, string>): Promise<Pick<Model, 'capacity' | 'status' | 'queue'>> {
  const [event] = await sql(`select capacity from events where id = $1`, [eventId]);
  const rows = await sql<{ id: string; status: Status }>(`select id, status from registrations where event_id = $1 order by created_at, id`, [eventId]);
  return {
    capacity: event!.capacity,
    status: new Map(rows.map((r) => [keyOf.get(r.id)!, r.status])),
    queue: rows.filter((r) => r.status === 'WAITLIST').map((r) => keyOf.get(r.id)!),
  };
}

beforeAll(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users');
});

describe('the queue against its sequential model', () => {
  it('concurrent rounds of registrations, cancellations, status and capacity changes are each some order of the model', async () => {
    const rounds = fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), rounds, async (capacity, plan) => {
        const slug = `model-${randomUUID().slice(0, 8)}`;
        const created = await call(createEvent, { as: ORGANIZER, body: { name: slug, slug, startsAt: '2027-04-01T10:00:00Z', capacity } });
        const eventId = created.body.id as string;
        let model: Model = { capacity, spots: new Map(), status: new Map(), queue: [] };
        const tokens = new Map<string, { id: string; cancelToken: string }>();
        const keyOf = new Map<string, string>();
        let emails = 0;
        for (const round of plan) {
          const known = [...tokens.keys()];
          const planned = round.flatMap((o): Planned[] => {
            if (o.kind === 'register') return [{ ...o, key: `${slug}-${emails++}@example.com` }];
            if (o.kind === 'capacity') return [{ ...o, key: '' }];
            return known.length === 0 ? [] : [{ ...o, key: known[o.pick % known.length]! }];
          });
          const sent = (o: Planned): Promise<Result> => {
            const params = { slug, id: tokens.get(o.key)?.id ?? '' };
            if (o.kind === 'register') return call(register, { params: { slug }, body: { name: 'Model', email: o.key, spots: o.spots } });
            if (o.kind === 'capacity') return call(updateEvent, { as: ORGANIZER, params: { slug }, body: { capacity: o.capacity } });
            if (o.kind === 'cancel') return call(cancelRegistration, { params, query: { token: tokens.get(o.key)!.cancelToken } });
            return call(updateRegistration, { as: ORGANIZER, params, body: { status: o.to } });
          };
          const responses = await Promise.all(planned.map(sent));
          planned.forEach((o, i) => {
            const res = responses[i]!;
            if (o.kind === 'register' && res.status === 201) {
              tokens.set(o.key, { id: res.body.id, cancelToken: res.body.cancelToken });
              keyOf.set(res.body.id, o.key);
            }
          });
          const answers = planned.map((o, i) => observed(o, responses[i]!));
          const actual = await stored(eventId, keyOf);
          let explained: Model | undefined;
          for (const order of orders(planned.map((o, i) => i))) {
            const candidate = clone(model);
            const predicted: string[] = [];
            for (const i of order) predicted[i] = apply(candidate, planned[i]!);
            const same =
              predicted.every((answer, i) => answer === answers[i]) &&
              candidate.capacity === actual.capacity &&
              candidate.queue.join() === actual.queue.join() &&
              [...candidate.status].every(([key, status]) => actual.status.get(key) === status) &&
              candidate.status.size === actual.status.size;
            if (same) {
              explained = candidate;
              break;
            }
          }
          expect(explained, `round ${JSON.stringify(planned)} answered ${JSON.stringify(answers)}, stored ${JSON.stringify({ ...actual, status: [...actual.status] })}`).toBeDefined();
          model = explained!;
        }
        await assertEventInvariants(sql, eventId);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 12), endOnFailure: true },
    );
  });
});
