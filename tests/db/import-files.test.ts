import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { database } from '../../src/db/client';
import { runImport } from '../../src/import/service';
import { importFolderPerTest } from '../helpers/import-folder';
import { sqlClient } from '../helpers/sql';

/** Files as spreadsheets and other systems write them, over both drivers: each class once failed a whole run. */
const sql = sqlClient();
const folder = importFolderPerTest(sql, 'import-files');

const importFolder = (maxRecordBytes?: number) => runImport(database(), { location: folder(), ownerSub: 'importer', concurrency: 4, maxRecordBytes });
const event = (externalId: string, name = `Event ${externalId}`) =>
  JSON.stringify({ externalId, name, startsAt: '2027-05-01T10:00:00Z', capacity: 10 });
const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
const utf16be = (text: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
const CSV = 'externalId,name,startsAt,capacity\r\ncsv-1,Tabellen Café,2027-05-01T10:00:00Z,5\r\ncsv-2,"Quoted, with ""comma""",2027-05-02T10:00:00Z,\r\n';

describe('import files', () => {
  it('U+0000 in a value or a field name is one recorded rejection; the run and the objects after it go on', async () => {
    await writeFile(
      join(folder(), 'a.jsonl'),
      [event('ok-1'), JSON.stringify({ externalId: 'nul\u0000id', name: 'Bad\u0000Name', startsAt: '2027-05-01T10:00:00Z', capacity: 1 }),
        JSON.stringify({ externalId: 'key-nul', 'na\u0000me': 'x', startsAt: '2027-05-01T10:00:00Z', capacity: 1 }), event('ok-2')].join('\n'),
    );
    await writeFile(join(folder(), 'b.jsonl'), event('ok-3'));
    const summary = await importFolder();
    expect(summary).toMatchObject({ read: 5, created: 3, rejected: 2, objectsImported: 2 });
    const rejections = await sql('select line, external_id, reason from import_rejections order by line');
    expect(rejections.map((row) => row.line)).toEqual([2, 3]);
    expect(rejections[0]!.reason).toMatch(/NUL/);
    expect(rejections[0]!.external_id).toBe('nul\uFFFDid');
    expect((await sql(`select status from import_runs`))[0]!.status).toBe('SUCCEEDED');
  });

  it('UTF-16 with a byte order mark (LE and BE) is decoded; UTF-8 with a mark too', async () => {
    await writeFile(join(folder(), 'le.csv'), utf16le(CSV));
    await writeFile(join(folder(), 'be.csv'), utf16be(CSV.replaceAll('csv-', 'be-')));
    await writeFile(join(folder(), 'bom.jsonl'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(event('bom-1', 'Grüße'))]));
    const summary = await importFolder();
    expect(summary).toMatchObject({ read: 5, created: 5, rejected: 0 });
    const names = await sql('select name, capacity from events order by external_id');
    expect(names).toEqual([
      { name: 'Tabellen Café', capacity: 5 },
      { name: 'Quoted, with "comma"', capacity: null },
      { name: 'Grüße', capacity: 10 },
      { name: 'Tabellen Café', capacity: 5 },
      { name: 'Quoted, with "comma"', capacity: null },
    ]);
  });

  it('UTF-16 without a mark is refused as one clear rejection of the object, which is then recorded as read', async () => {
    await writeFile(join(folder(), 'a-nomark.csv'), Buffer.from(CSV, 'utf16le'));
    await writeFile(join(folder(), 'b.jsonl'), event('after'));
    const summary = await importFolder();
    expect(summary).toMatchObject({ read: 2, created: 1, rejected: 1, objectsImported: 2 });
    const [rejection] = await sql('select object, line, reason from import_rejections');
    expect(rejection).toMatchObject({ object: 'a-nomark.csv', line: 1, reason: expect.stringMatching(/not UTF-8.*UTF-16/) });
  });

  it('a record longer than the bound is one recorded rejection at its line; the records after it are imported', async () => {
    // 8 KiB of one JSON object (then its line goes on), and a CSV cell whose quote never closes: read no further
    // than the 1 KiB bound, whatever follows.
    const huge = `{"externalId":"huge","name":"${'x'.repeat(8192)}`;
    await writeFile(join(folder(), 'a.jsonl'), [event('j-1'), huge, event('j-2')].join('\n'));
    await writeFile(join(folder(), 'b.csv'), `externalId,name,startsAt,capacity\nc-1,Cell One,2027-05-01T10:00:00Z,5\nc-2,"${'y'.repeat(4096)}\nc-3,Lost,2027-05-01T10:00:00Z,5\n`);
    const summary = await importFolder(1024);
    expect(summary).toMatchObject({ status: 'SUCCEEDED', read: 5, created: 3, rejected: 2, objectsImported: 2 });
    expect(await sql('select external_id from events order by external_id')).toEqual(
      [{ external_id: 'c-1' }, { external_id: 'j-1' }, { external_id: 'j-2' }],
    );
    expect(await sql('select object, line, reason from import_rejections order by object')).toEqual([
      { object: 'a.jsonl', line: 2, reason: 'line longer than 1024 bytes; not read' },
      { object: 'b.csv', line: 3, reason: 'record longer than 1024 bytes (or a quote left open); not read' },
    ]);
  });
});
