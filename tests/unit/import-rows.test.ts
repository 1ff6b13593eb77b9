import { Readable } from 'node:stream';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportConfig } from '../../src/config';
import { parseImportRow } from '../../src/import/contract';
import { isImportLocation, parseImportLocation } from '../../src/import/location';
import { readRows, type RawRow } from '../../src/import/rows';
import { importSettings } from '../../src/import/service';

/** The text arrives in small chunks, as from a socket, so records straddle chunk boundaries. */
async function rowsOf(text: string, format: 'csv' | 'jsonl', maxRecordBytes?: number): Promise<RawRow[]> {
  const chunks = text.match(/[\s\S]{1,7}/g) ?? [];
  const rows: RawRow[] = [];
  for await (const row of readRows(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), format, maxRecordBytes)) rows.push(row);
  return rows;
}

describe('readRows: JSONL', () => {
  it('one object per line; blank lines skipped but counted; bad lines are rows with a reason', async () => {
    const rows = await rowsOf('\uFEFF{"a":1}\r\n\n{"b":"x"}\n{"broken":\n[1,2]\n"text"\n{"c":true}', 'jsonl');
    expect(rows).toEqual([
      { line: 1, fields: { a: 1 }, text: false },
      { line: 3, fields: { b: 'x' }, text: false },
      { line: 4, reason: 'not valid JSON' },
      { line: 5, reason: 'not a JSON object' },
      { line: 6, reason: 'not a JSON object' },
      { line: 7, fields: { c: true }, text: false },
    ]);
  });

  it('a failing source fails the read instead of ending it quietly', async () => {
    const source = new Readable({ read() {} });
    source.push('{"a":1}\n');
    setTimeout(() => source.destroy(new Error('connection reset')), 10);
    await expect(async () => {
      for await (const _row of readRows(source, 'jsonl')) void _row;
    }).rejects.toThrow('connection reset');
  });
});

describe('readRows: CSV', () => {
  it('header names the fields; cells stay text; rows report the line they start on', async () => {
    const text = '\uFEFFexternalId,name,capacity\r\ne1,"Multi\r\nline, ""quoted""",10\r\n\r\ne2,Plain,\r\ne3,Too,many,cells\r\ne4,Last,4';
    expect(await rowsOf(text, 'csv')).toEqual([
      { line: 2, fields: { externalId: 'e1', name: 'Multi\nline, "quoted"', capacity: '10' }, text: true },
      { line: 5, fields: { externalId: 'e2', name: 'Plain', capacity: '' }, text: true },
      { line: 6, reason: 'expected 3 cells as in the header, found 4' },
      { line: 7, fields: { externalId: 'e4', name: 'Last', capacity: '4' }, text: true },
    ]);
  });

  it('broken quoting ends the object with one row for the rest, from the line where reading stopped', async () => {
    const rows = await rowsOf('externalId,name\ne1,One\ne2,"bad"x\ne3,Three\n', 'csv');
    expect(rows).toEqual([
      { line: 2, fields: { externalId: 'e1', name: 'One' }, text: true },
      { line: 3, reason: 'malformed CSV (CSV_INVALID_CLOSING_QUOTE); the rest of the object was not read', rest: true },
    ]);
  });

  it('CRLF split across chunks and lone CRs are line breaks, read as LF', async () => {
    const rows: RawRow[] = [];
    const chunks = ['id,name\r', '\ne1,"a\rb"\r', '\ne2,c\r'];
    for await (const row of readRows(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), 'csv')) rows.push(row);
    expect(rows).toEqual([
      { line: 2, fields: { id: 'e1', name: 'a\nb' }, text: true },
      { line: 4, fields: { id: 'e2', name: 'c' }, text: true },
    ]);
  });

  it('a failing source fails the read', async () => {
    const source = new Readable({ read() {} });
    source.push('externalId,name\ne1,One\n');
    setTimeout(() => source.destroy(new Error('connection reset')), 10);
    await expect(async () => {
      for await (const _row of readRows(source, 'csv')) void _row;
    }).rejects.toThrow('connection reset');
  });
});

describe('readRows: records longer than the bound', () => {
  const long = 'x'.repeat(100);

  it('JSONL: an oversize line is one bad row at its line; the lines after it are read, numbered as in the file', async () => {
    const rows = await rowsOf(`{"a":1}\r\n{"name":"${long}"}\n\n{"b":2}\n{"c":"${long}"}`, 'jsonl', 40);
    expect(rows).toEqual([
      { line: 1, fields: { a: 1 }, text: false },
      { line: 2, reason: 'line longer than 40 bytes; not read' },
      { line: 4, fields: { b: 2 }, text: false },
      { line: 5, reason: 'line longer than 40 bytes; not read' },
    ]);
  });

  it('CSV: an oversize record (a quoted cell over lines) is one bad row; later records keep their lines', async () => {
    const text = `id,name\ne1,short\ne2,"${long}\r\nsecond, ""line""\nthird"\ne3,"after, quoted"\ne4,"${long}`;
    expect(await rowsOf(text, 'csv', 40)).toEqual([
      { line: 2, fields: { id: 'e1', name: 'short' }, text: true },
      { line: 3, reason: 'record longer than 40 bytes (or a quote left open); not read' },
      { line: 6, fields: { id: 'e3', name: 'after, quoted' }, text: true },
      // A quote left open to the end: one bad row, however long the rest.
      { line: 7, reason: 'record longer than 40 bytes (or a quote left open); not read' },
    ]);
  });

  it('CSV: an oversize header leaves nothing readable: one row for the whole object', async () => {
    expect(await rowsOf(`id,${long}\ne1,x\n`, 'csv', 40)).toEqual([
      { line: 1, reason: 'the header record is longer than 40 bytes; the object was not read', rest: true },
    ]);
  });

  it('CSV: an object that is only an oversize header (and blank lines) is that one row too', async () => {
    const headerOnly = [{ line: 1, reason: 'the header record is longer than 40 bytes; the object was not read', rest: true }];
    expect(await rowsOf(`id,${long}`, 'csv', 40)).toEqual(headerOnly);
    expect(await rowsOf(`id,${long}\r\n\n`, 'csv', 40)).toEqual(headerOnly);
  });
});

describe('parseImportRow', () => {
  it('a row with eventExternalId is a registration, any other an event, each checked by the API schema', () => {
    expect(parseImportRow({ externalId: 'e1', name: 'Meetup', startsAt: '2027-01-01T10:00:00Z', capacity: null }, false)).toEqual({
      kind: 'event',
      row: { externalId: 'e1', name: 'Meetup', startsAt: new Date('2027-01-01T10:00:00Z'), capacity: null },
    });
    expect(parseImportRow({ eventExternalId: 'e1', externalId: 'r1', name: 'Ada', email: 'ada@example.com' }, false)).toEqual({
      kind: 'registration',
      row: { eventExternalId: 'e1', externalId: 'r1', name: 'Ada', email: 'ada@example.com', spots: 1 },
    });
    expect(parseImportRow({ externalId: 'e1', name: 'Meetup', startsAt: '2027-01-01T10:00:00Z', capacity: 5, email: 'x@y.z' }, false)).toMatchObject({
      kind: 'invalid',
      externalId: 'e1',
      reason: 'event row: row: Unrecognized key: "email"',
    });
    expect(parseImportRow({ eventExternalId: 'e1', externalId: 'r1', name: 'Ada', email: 'ada@example.com', spots: 0 }, false)).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('registration row: spots: Too small'),
    });
  });

  it('CSV cells: empty is absent, an empty event capacity is unlimited, numbers only where numbers belong', () => {
    const event = { externalId: 'e1', eventExternalId: '', name: '2027', email: '', spots: '', startsAt: '2027-01-01T10:00:00Z', capacity: '' };
    expect(parseImportRow(event, true)).toMatchObject({ kind: 'event', row: { name: '2027', capacity: null } });
    expect(parseImportRow({ ...event, capacity: '12' }, true)).toMatchObject({ kind: 'event', row: { capacity: 12 } });
    expect(parseImportRow({ ...event, capacity: 'lots' }, true)).toMatchObject({ kind: 'invalid' });
    const registration = { externalId: 'r1', eventExternalId: 'e1', name: 'Ada', email: 'ada@example.com', spots: '3', startsAt: '', capacity: '' };
    expect(parseImportRow(registration, true)).toMatchObject({ kind: 'registration', row: { spots: 3 } });
    expect(parseImportRow({ ...registration, spots: 'many' }, true)).toMatchObject({ kind: 'invalid' });
  });
});

describe('import locations', () => {
  it('S3: a prefix is a folder; one key belongs to the source of its prefix', () => {
    expect(parseImportLocation('s3://lockstep-imports/incoming/')).toEqual({
      kind: 's3', source: 's3://lockstep-imports/incoming/', bucket: 'lockstep-imports', prefix: 'incoming/', only: undefined,
    });
    expect(parseImportLocation('s3://lockstep-imports/incoming')).toMatchObject({ source: 's3://lockstep-imports/incoming/', prefix: 'incoming/' });
    expect(parseImportLocation('s3://lockstep-imports')).toMatchObject({ source: 's3://lockstep-imports/', prefix: '' });
    expect(parseImportLocation('s3://lockstep-imports/incoming/2027/batch.csv')).toMatchObject({
      source: 's3://lockstep-imports/incoming/2027/', prefix: 'incoming/2027/', only: 'batch.csv',
    });
  });

  it('local: a folder by its absolute path; one file belongs to the source of its folder', () => {
    expect(parseImportLocation('imports')).toEqual({ kind: 'folder', source: resolve('imports'), folder: resolve('imports') });
    expect(parseImportLocation('imports/batch.JSONL')).toEqual({
      kind: 'folder', source: resolve('imports'), folder: resolve('imports'), only: 'batch.JSONL',
    });
  });

  it('refuses what is neither', () => {
    expect(isImportLocation('s3://Not_A_Bucket/')).toBe(false);
    expect(isImportLocation('')).toBe(false);
    expect(() => parseImportLocation('s3://x/')).toThrow();
  });

  it('the scheduled settings take IMPORT_SOURCE as a location, or refuse it at once, naming the variable', () => {
    const cfg: ImportConfig = {
      DATABASE_URL: 'postgres://localhost/lockstep', DATABASE_DRIVER: 'auto', DATABASE_POOL_MAX: 5, DATABASE_MAX_IDLE_SECONDS: 60, DATABASE_PREPARED_STATEMENTS: true,
      IMPORT_SOURCE: 's3://lockstep-imports/incoming/', IMPORT_OWNER_SUB: 'importer', IMPORT_CONCURRENCY: 8,
    };
    expect(importSettings(cfg)).toEqual({ location: 's3://lockstep-imports/incoming/', ownerSub: 'importer', concurrency: 8, s3Endpoint: undefined });
    expect(() => importSettings({ ...cfg, IMPORT_SOURCE: 's3://Not_A_Bucket/' })).toThrow(/^Invalid configuration: IMPORT_SOURCE: /);
  });
});
