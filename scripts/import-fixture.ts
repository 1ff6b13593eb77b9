/**
 * A generated import data set with its exact expected outcome, for the import tests and `npm run bench:import`.
 *
 * Event and registration rows are interleaved (each registration after its event's row, often in a later object),
 * split into objects alternating CSV and JSONL. Included on purpose: duplicated event names (slug collisions),
 * events far over capacity (waitlists), unlimited events, multi-line quoted CSV cells, blank lines, exact repeats of
 * earlier rows (unchanged), emails repeated with another case (already registered), spot counts above the event's
 * limit, registrations of unknown events, and 1 % malformed rows. The expectation is computed by replaying the
 * API's rules over the rows in file order, which is the order an import applies each event's rows in.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ImportCounts {
  read: number;
  created: number;
  unchanged: number;
  waitlisted: number;
  rejected: number;
}

export interface ImportFixture {
  objects: Array<{ name: string; content: string }>;
  expected: ImportCounts;
  /** Final status of every registration that should exist, by external id. */
  registrations: Map<string, 'CONFIRMED' | 'WAITLIST'>;
  /** External ids of the events that should exist, with their names. */
  events: Map<string, string>;
  /** `object:line` of every row that should be rejected. */
  rejections: Set<string>;
  /** Rows broken on purpose (the other rejections break a rule of the API). */
  malformed: number;
}

export interface FixtureOptions {
  events: number;
  registrations: number;
  objects?: number;
  seed?: number;
}

/** The API's default maxSpotsPerRegistration, which imported events get. */
const MAX_SPOTS = 10;
const SHARED_NAMES = ['Node Meetup', 'Rust Night', 'Café Crème & Co', 'Postgres Day', 'Serverless Summit'];
const PEOPLE = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances'];
const CSV_COLUMNS = ['externalId', 'eventExternalId', 'name', 'email', 'spots', 'startsAt', 'endsAt', 'location', 'description', 'capacity'];

type EventFields = { externalId: string; name: string; startsAt: string; endsAt?: string; location?: string; description?: string; capacity: number | null };
type RegistrationFields = { eventExternalId: string; externalId: string; name: string; email: string; spots: number };
type Row =
  | { kind: 'event'; fields: EventFields; malformed?: number }
  | { kind: 'registration'; fields: RegistrationFields; malformed?: number };

/** mulberry32: small, fast, deterministic. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateImportFixture(options: FixtureOptions): ImportFixture {
  const rand = random(options.seed ?? 7);
  const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]!;
  const malformedEvents = Math.round(options.events / 100);
  const repeatedEvents = Math.round(options.events / 200);

  // Events in start order; every hundredth (up to 1 %) malformed.
  const eventRows: Row[] = [];
  for (let i = 0; eventRows.length < options.events - repeatedEvents; i++) {
    const startsAt = new Date(Date.UTC(2027, 0, 1) + i * 3_600_000);
    const fields: EventFields = {
      externalId: `ev-${i}`,
      name: rand() < 0.1 ? pick(SHARED_NAMES) : `Event ${i} ${pick(['Conf', 'Workshop', 'Meetup', 'Hackday'])}`,
      startsAt: startsAt.toISOString(),
      capacity: rand() < 0.2 ? null : int(1, 30),
    };
    if (rand() < 0.5) fields.endsAt = new Date(startsAt.getTime() + 7_200_000).toISOString();
    if (rand() < 0.3) fields.location = pick(['Berlin', 'Lisbon, "Hub"', 'Online']);
    if (rand() < 0.2) fields.description = 'Line one\nline two, with "quotes"';
    eventRows.push({ kind: 'event', fields, malformed: i % 100 === 37 && i / 100 < malformedEvents ? i : undefined });
  }
  const eventIds = eventRows.map((row) => row.fields.externalId);

  const slots = new Map<number, Row[]>();
  const place = (slot: number, row: Row) => {
    const at = Math.min(slot, eventRows.length - 1);
    if (!slots.has(at)) slots.set(at, []);
    slots.get(at)!.push(row);
  };
  const emailsByEvent = new Map<string, string[]>();
  const registrationRows: Row[] = [];
  for (let j = 0; registrationRows.length < options.registrations; j++) {
    const eventIndex = int(0, eventRows.length - 1);
    const eventExternalId = j % 997 === 5 ? `ev-unknown-${j}` : eventIds[eventIndex]!;
    const earlier = emailsByEvent.get(eventExternalId) ?? [];
    const person = pick(PEOPLE);
    const email = earlier.length > 0 && rand() < 0.01 ? pick(earlier).toUpperCase() : `${person.toLowerCase()}.${j}@example.com`;
    emailsByEvent.set(eventExternalId, [...earlier, email]);
    const spots = rand() < 0.005 ? MAX_SPOTS + 2 : int(1, 4);
    const row: Row = {
      kind: 'registration',
      fields: { eventExternalId, externalId: `reg-${j}`, name: person, email, spots },
      malformed: j % 100 === 50 ? j : undefined,
    };
    registrationRows.push(row);
    place(eventIndex + int(0, 50), row);
  }
  // Exact repeats of earlier rows: unchanged when the original was imported.
  for (let k = 0; k < repeatedEvents; k++) {
    let index = int(0, eventRows.length - 1);
    while (eventRows[index]!.malformed !== undefined) index = (index + 1) % eventRows.length;
    place(index + int(1, 20), { ...eventRows[index]! });
  }
  const sequence: Row[] = [];
  eventRows.forEach((row, index) => sequence.push(row, ...(slots.get(index) ?? [])));
  // Registrations repeated verbatim replace as many fresh ones at the end, keeping the total.
  const repeats = Math.round(options.registrations / 200);
  for (let k = 0; k < repeats; k++) {
    const at = sequence.length - 1 - k * 3;
    const original = sequence.slice(0, at - 200).filter((row) => row.kind === 'registration' && row.malformed === undefined);
    if (sequence[at]?.kind === 'registration' && sequence[at]!.malformed === undefined) sequence[at] = { ...pick(original) };
  }
  return withExpectation(sequence, options.objects ?? 4);
}

/** Serialize the rows into objects and replay them: the exact counts, statuses and rejected lines. */
function withExpectation(sequence: Row[], objectCount: number): ImportFixture {
  const objects: ImportFixture['objects'] = [];
  const rejections = new Set<string>();
  const located: Array<{ row: Row; object: string; line: number; invalid: boolean }> = [];
  const perObject = Math.ceil(sequence.length / objectCount);
  for (let o = 0; o < objectCount; o++) {
    const rows = sequence.slice(o * perObject, (o + 1) * perObject);
    const format = o % 2 === 0 ? 'csv' : 'jsonl';
    const name = `${String(o + 1).padStart(2, '0')}-batch.${format}`;
    const lines: string[] = format === 'csv' ? [CSV_COLUMNS.join(',')] : [];
    let line = format === 'csv' ? 2 : 1;
    rows.forEach((row, index) => {
      if (format === 'jsonl' && index === 10) {
        lines.push(''); // a blank line is skipped, but counts for the line numbers
        line++;
      }
      const text = format === 'csv' ? csvLine(row) : jsonLine(row);
      located.push({ row, object: name, line, invalid: row.malformed !== undefined });
      lines.push(text);
      line += text.split('\n').length;
    });
    objects.push({ name, content: `${lines.join('\n')}\n` });
  }

  const expected: ImportCounts = { read: 0, created: 0, unchanged: 0, waitlisted: 0, rejected: 0 };
  const events = new Map<string, { name: string; capacity: number | null; reserved: number; waiting: number; emails: Set<string> }>();
  const registrations = new Map<string, 'CONFIRMED' | 'WAITLIST'>();
  const reject = (object: string, line: number) => {
    expected.rejected++;
    rejections.add(`${object}:${line}`);
  };
  for (const { row, object, line, invalid } of located) {
    expected.read++;
    if (invalid) {
      reject(object, line);
    } else if (row.kind === 'event') {
      if (events.has(row.fields.externalId)) {
        expected.unchanged++;
      } else {
        events.set(row.fields.externalId, { name: row.fields.name, capacity: row.fields.capacity, reserved: 0, waiting: 0, emails: new Set() });
        expected.created++;
      }
    } else {
      const { eventExternalId, externalId, email, spots } = row.fields;
      const event = events.get(eventExternalId);
      if (registrations.has(externalId)) {
        expected.unchanged++;
      } else if (
        !event ||
        spots > MAX_SPOTS ||
        // More spots than the whole capacity is refused (it would block the queue forever).
        (event.capacity !== null && spots > event.capacity) ||
        event.emails.has(email.toLowerCase())
      ) {
        reject(object, line);
      } else {
        event.emails.add(email.toLowerCase());
        const fits = event.waiting === 0 && (event.capacity === null || event.reserved + spots <= event.capacity);
        if (fits) event.reserved += spots;
        else event.waiting++;
        registrations.set(externalId, fits ? 'CONFIRMED' : 'WAITLIST');
        expected[fits ? 'created' : 'waitlisted']++;
      }
    }
  }
  return {
    objects,
    expected,
    registrations,
    events: new Map([...events].map(([id, e]) => [id, e.name])),
    rejections,
    malformed: located.filter((row) => row.invalid).length,
  };
}

/** Each malformed row breaks one rule, by its number; a few breaks depend on the format. */
function breakRow(row: Row, format: 'csv' | 'jsonl'): Record<string, unknown> | string {
  const kind = row.malformed! % 7;
  if (row.kind === 'event') {
    const fields: Record<string, unknown> = { ...row.fields };
    if (kind === 0) fields.name = 'ab';
    if (kind === 1) fields.capacity = -5;
    if (kind === 2) fields.startsAt = 'next tuesday';
    if (kind === 3) fields.endsAt = new Date(Date.parse(row.fields.startsAt) - 60_000).toISOString();
    if (kind === 4) fields.capacity = 'lots';
    if (kind === 5) delete fields.name;
    if (kind === 6) return format === 'csv' ? 'too,few,cells' : '{"externalId": "broken",';
    return fields;
  }
  const fields: Record<string, unknown> = { ...row.fields };
  if (kind === 0) fields.email = 'not-an-email';
  if (kind === 1) fields.spots = 0;
  if (kind === 2) fields.spots = format === 'csv' ? 'many' : '3';
  if (kind === 3) fields.name = '   ';
  if (kind === 4) fields.spots = 101;
  if (kind === 5) {
    if (format === 'csv') return 'a,b,c,d,e,f,g,h,i,j,k';
    fields.coupon = 'FREE';
  }
  if (kind === 6) return format === 'csv' ? `${row.fields.externalId},${row.fields.eventExternalId}` : '[1, 2, 3]';
  return fields;
}

function jsonLine(row: Row): string {
  const fields = row.malformed === undefined ? row.fields : breakRow(row, 'jsonl');
  return typeof fields === 'string' ? fields : JSON.stringify(fields);
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(row: Row): string {
  const fields = row.malformed === undefined ? row.fields : breakRow(row, 'csv');
  if (typeof fields === 'string') return fields;
  return CSV_COLUMNS.map((column) => csvCell((fields as Record<string, unknown>)[column])).join(',');
}

export async function writeImportFixture(folder: string, fixture: ImportFixture): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (const object of fixture.objects) await writeFile(join(folder, object.name), object.content);
}
