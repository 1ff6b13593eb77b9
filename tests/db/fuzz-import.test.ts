import fc from 'fast-check';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { database } from '../../src/db/client';
import { runImport } from '../../src/import/service';
import { FUZZ_RUNS, fuzzParameters } from '../helpers/fuzz';
import { emptyImportTables } from '../helpers/import-folder';
import { sqlClient } from '../helpers/sql';

/**
 * Generated import files, with an exact oracle: every clean row is created or waitlisted, every spoiled row (NUL, an
 * unknown field, a wrong type, an over-long value) and every registration of a spoiled event is one recorded
 * rejection, the run SUCCEEDS, and a second run creates nothing. Files vary in format, encoding (UTF-8 with and
 * without a BOM, UTF-16 LE/BE with one), line breaks, quoting and line length.
 */
const sql = sqlClient();
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-fuzz-import-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

type Spoil = 'clean' | 'nul' | 'unknown' | 'wrongType' | 'long';
interface EventRow { kind: 'event'; externalId: string; name: string; startsAt: string; capacity: number | null; spoil: Spoil }
interface RegistrationRow { kind: 'registration'; externalId: string; eventExternalId: string; name: string; email: string; spots: number; spoil: Spoil }
type Row = EventRow | RegistrationRow;

/** Valid names in any script, with the characters CSV and JSON must escape; at least three visible characters. */
const name = fc
  .tuple(
    fc.constantFrom('Ünïcödé', 'Quote "this"', 'Comma, and; semicolon', 'Line\nbreak', 'CR\r\nLF', '😀 Party 🧑‍💻', 'שלום עולם', 'e\u0301vent', 'lone \uD800 surrogate', "O'Brien"),
    fc.string({ maxLength: 20 }).map((text) => text.replaceAll('\u0000', '')),
  )
  .map(([head, tail]) => `${head} ${tail}`.slice(0, 100));
const spoil = fc.constantFrom<Spoil>('clean', 'clean', 'clean', 'nul', 'unknown', 'wrongType', 'long');

const file = fc
  .record({
    events: fc.array(fc.record({ name, capacity: fc.option(fc.integer({ min: 100, max: 1000 })), spoil }), { minLength: 1, maxLength: 4 }),
    registrations: fc.array(fc.record({ event: fc.nat(), name, spots: fc.integer({ min: 1, max: 10 }), spoil }), { maxLength: 12 }),
    format: fc.constantFrom('jsonl', 'csv'),
    encoding: fc.constantFrom('utf8', 'utf8-bom', 'utf16le', 'utf16be'),
    lineBreak: fc.constantFrom('\n', '\r\n'),
    quoteAll: fc.boolean(),
    unknownColumn: fc.boolean(),
  });
type FileSpec = typeof file extends fc.Arbitrary<infer Spec> ? Spec : never;

function rowsOf(spec: FileSpec, prefix: string): Row[] {
  const events: EventRow[] = spec.events.map((event, i) => ({
    kind: 'event',
    externalId: `${prefix}-e${i}`,
    name: event.name,
    startsAt: '2027-07-01T10:00:00Z',
    capacity: event.capacity,
    spoil: event.spoil,
  }));
  const registrations: RegistrationRow[] = spec.registrations.map((registration, i) => ({
    kind: 'registration',
    externalId: `${prefix}-r${i}`,
    eventExternalId: events[registration.event % events.length]!.externalId,
    name: registration.name,
    email: `${prefix}-r${i}@example.com`,
    spots: registration.spots,
    spoil: registration.spoil,
  }));
  return [...events, ...registrations];
}

/** The row's fields as the file will hold them, spoiled as asked. */
function fieldsOf(row: Row): Record<string, unknown> {
  const { kind: _kind, spoil: _spoil, ...fields } = row;
  const out: Record<string, unknown> = { ...fields };
  if (row.spoil === 'nul') out.name = `${row.name}\u0000`;
  if (row.spoil === 'unknown') out.color = 'blue';
  if (row.spoil === 'wrongType') out[row.kind === 'event' ? 'startsAt' : 'spots'] = 'soon';
  if (row.spoil === 'long') out.name = 'x'.repeat(120_000);
  return out;
}

const COLUMNS = ['externalId', 'name', 'startsAt', 'capacity', 'eventExternalId', 'email', 'spots'];

function render(spec: FileSpec, rows: Row[]): Buffer {
  let text: string;
  if (spec.format === 'jsonl') {
    text = rows.map((row) => JSON.stringify(fieldsOf(row))).join(spec.lineBreak);
  } else {
    const columns = [...COLUMNS, ...(spec.unknownColumn || rows.some((row) => row.spoil === 'unknown') ? ['color'] : [])];
    const cell = (value: unknown) => {
      const raw = value === undefined || value === null ? '' : String(value);
      return spec.quoteAll || /[",\r\n]/.test(raw) ? `"${raw.replaceAll('"', '""')}"` : raw;
    };
    text = [columns.join(','), ...rows.map((row) => columns.map((column) => cell(fieldsOf(row)[column])).join(','))].join(spec.lineBreak);
  }
  if (spec.encoding === 'utf8') return Buffer.from(text, 'utf8');
  if (spec.encoding === 'utf8-bom') return Buffer.from(`\uFEFF${text}`, 'utf8');
  const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
  return spec.encoding === 'utf16le' ? le : le.swap16();
}

/**
 * Rows a correct import accepts: clean ones, registrations only of an accepted event. An unknown CSV column with an
 * empty cell is an absent field, so it spoils only the rows that fill it.
 */
function expectedOutcome(rows: Row[]) {
  const accepted = new Set<string>();
  for (const row of rows) {
    if (row.spoil === 'clean' && (row.kind === 'event' || accepted.has(row.eventExternalId))) accepted.add(row.externalId);
  }
  return { rows: rows.length, accepted: accepted.size };
}

describe(`import fuzz (${FUZZ_RUNS} runs of 1-3 generated files; FUZZ_RUNS, FUZZ_SEED to change)`, () => {
  it('every row ends exactly as the oracle says, every rejection is recorded, a second run creates nothing', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 3 }), async (specs) => {
        run++;
        await emptyImportTables(sql);
        const folder = join(root, `run-${run}`);
        await mkdir(folder, { recursive: true });
        let expected = { rows: 0, accepted: 0 };
        for (const [i, spec] of specs.entries()) {
          const rows = rowsOf(spec, `f${i}`);
          await writeFile(join(folder, `file-${i}.${spec.format}`), render(spec, rows));
          const outcome = expectedOutcome(rows);
          expected = { rows: expected.rows + outcome.rows, accepted: expected.accepted + outcome.accepted };
        }
        const settings = { location: folder, ownerSub: 'fuzz-importer', concurrency: 4 };
        const first = await runImport(database(), settings);
        expect(first).toMatchObject({ read: expected.rows, objectsImported: specs.length, unchanged: 0 });
        expect(first.created + first.waitlisted).toBe(expected.accepted);
        expect(first.rejected).toBe(expected.rows - expected.accepted);
        const [recorded] = await sql(`select count(*)::int as n from import_rejections where run_id = $1`, [first.runId]);
        expect(recorded!.n).toBe(first.rejected);
        expect((await sql(`select status from import_runs where id = $1`, [first.runId]))[0]!.status).toBe('SUCCEEDED');
        const drift = await sql(`select s.event_id, s.shard from event_shards s where s.reserved <>
          (select coalesce(sum(spots), 0) from registrations r where r.event_id = s.event_id and r.shard = s.shard and r.status = 'CONFIRMED')`);
        expect(drift).toEqual([]);
        const second = await runImport(database(), { ...settings, reprocess: true });
        expect(second).toMatchObject({ created: 0, waitlisted: 0, unchanged: expected.accepted, read: expected.rows });
        await rm(folder, { recursive: true, force: true });
      }),
      fuzzParameters(),
    );
  });
});
