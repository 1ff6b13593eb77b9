import { parse } from 'csv-parse';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { TextDecoder } from 'node:util';
import type { ObjectFormat } from './location';

/**
 * One record of an object, before validation: its fields (all text for CSV), or why it could not even be read as
 * a record (`rest`: nor anything after it).
 */
export type RawRow =
  | { line: number; fields: Record<string, unknown>; text: boolean }
  | { line: number; fields?: undefined; reason: string; rest?: boolean };

/**
 * Read an object's records one by one, as the stream delivers them: an object is never held in memory whole. Text
 * is UTF-8; a byte order mark is dropped, and UTF-16 with one (a spreadsheet's "Unicode text") is decoded. Text
 * that starts with NUL bytes but has no mark is UTF-16 too, of unknown byte order: the object is one rejection.
 */
export async function* readRows(stream: Readable, format: ObjectFormat): AsyncGenerator<RawRow> {
  const encoding: { refused?: string } = {};
  const text = Readable.from(decodeToUtf8(stream, encoding), { objectMode: false });
  yield* format === 'csv' ? readCsv(text) : readJsonLines(text);
  if (encoding.refused) yield { line: 1, reason: encoding.refused, rest: true };
}

async function* decodeToUtf8(stream: Readable, encoding: { refused?: string }): AsyncGenerator<Buffer> {
  let head: Buffer = Buffer.alloc(0);
  let decoder: TextDecoder | undefined;
  let started = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let bytes: Buffer = chunk;
    if (!started) {
      // The mark may straddle chunks: decide on the first 4 bytes.
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) continue;
      [bytes, decoder, encoding.refused] = startOfText(head);
      started = true;
      if (encoding.refused) return;
    }
    yield decoder ? Buffer.from(decoder.decode(bytes, { stream: true }), 'utf8') : bytes;
  }
  if (!started && head.length > 0) {
    [head, decoder, encoding.refused] = startOfText(head);
    if (encoding.refused) return;
    yield decoder ? Buffer.from(decoder.decode(head, { stream: true }), 'utf8') : head;
  }
  if (decoder) yield Buffer.from(decoder.decode(), 'utf8');
}

function startOfText(head: Buffer): [Buffer, TextDecoder | undefined, string | undefined] {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return [head.subarray(3), undefined, undefined];
  if (head[0] === 0xff && head[1] === 0xfe) return [head.subarray(2), new TextDecoder('utf-16le'), undefined];
  if (head[0] === 0xfe && head[1] === 0xff) return [head.subarray(2), new TextDecoder('utf-16be'), undefined];
  if (head.subarray(0, 4).includes(0)) {
    return [head, undefined, 'not UTF-8 text (NUL bytes, as in UTF-16 without a byte order mark); the object was not read'];
  }
  return [head, undefined, undefined];
}

/** One JSON object per line; blank lines are ignored. A line that is not a JSON object is one bad row. */
async function* readJsonLines(stream: Readable): AsyncGenerator<RawRow> {
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, reason: 'not valid JSON' };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, reason: 'not a JSON object' };
      continue;
    }
    yield { line, fields: value as Record<string, unknown>, text: false };
  }
}

/**
 * RFC 4180 CSV with a header row naming the fields; cells stay text (see `parseImportRow`). Every line break is read
 * as `\n` (CRLF and CR too, inside quoted cells as well), which keeps the parser's line count exact. A record with the
 * wrong number of cells is one bad row. Broken quoting leaves no reliable record boundary after it: the records
 * before it are read, and the rest of the object is one bad row, at the line where the parser gave up.
 */
async function* readCsv(stream: Readable): AsyncGenerator<RawRow> {
  let broken: { line: number; code: string } | undefined;
  const parser = stream.pipe(lineBreaksToLf()).pipe(
    parse({
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        broken ??= { line: typeof err?.lines === 'number' ? Math.max(err.lines, 1) : 1, code: err?.code ?? 'CSV_ERROR' };
        return undefined;
      },
    }),
  );
  // pipe() does not forward errors; the parser's iterator must see them or it would wait forever.
  stream.once('error', (err) => parser.destroy(err));
  let header: string[] | undefined;
  let lastLine = 0;
  let emptyLines = 0;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; empty_lines: number } }>) {
    // The parser counts the line a record ends on; it may start after blank lines, and a quoted cell may span lines.
    const line = lastLine + 1 + info.empty_lines - emptyLines;
    [lastLine, emptyLines] = [info.lines, info.empty_lines];
    if (broken && line >= broken.line) break;
    if (header === undefined) {
      header = record.map((column) => column.trim());
    } else if (record.length !== header.length) {
      yield { line, reason: `expected ${header.length} cells as in the header, found ${record.length}` };
    } else {
      yield { line, fields: Object.fromEntries(header.map((column, i) => [column, record[i]!])), text: true };
    }
  }
  if (broken) yield { line: broken.line, reason: `malformed CSV (${broken.code}); the rest of the object was not read`, rest: true };
}

/**
 * CRLF and lone CR → LF, byte-wise (neither byte occurs inside a multi-byte UTF-8 character), across chunk
 * boundaries: the parser counts every one of them as a line.
 */
function lineBreaksToLf(): Transform {
  let pendingCarriageReturn = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!pendingCarriageReturn && !chunk.includes(0x0d)) return done(null, chunk);
      const out = Buffer.allocUnsafe(chunk.length + 1);
      let length = 0;
      if (pendingCarriageReturn && chunk[0] !== 0x0a) out[length++] = 0x0a;
      pendingCarriageReturn = false;
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== 0x0d) out[length++] = chunk[i]!;
        else if (i + 1 === chunk.length) pendingCarriageReturn = true;
        else if (chunk[i + 1] !== 0x0a) out[length++] = 0x0a;
      }
      done(null, out.subarray(0, length));
    },
    flush(done) {
      done(null, pendingCarriageReturn ? Buffer.from('\n') : undefined);
    },
  });
}
