import { parse } from 'csv-parse';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import type { ObjectFormat } from './location';

/**
 * One record of an object, before validation: its fields (all text for CSV), or why it could not even be read as
 * a record (`rest`: nor anything after it).
 */
export type RawRow =
  | { line: number; fields: Record<string, unknown>; text: boolean }
  | { line: number; fields?: undefined; reason: string; rest?: boolean };

/** The longest record (a JSONL line, a CSV record) an import reads, in UTF-8 bytes; a valid row is a few KB. */
const MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Read an object's records one by one, as the stream delivers them: an object is never held in memory whole, nor a
 * record longer than `maxRecordBytes`, which is one bad row (its first line) while the records after it are read.
 * Text is UTF-8; a byte order mark is dropped, and UTF-16 with one (a spreadsheet's "Unicode text") is decoded. Text
 * that starts with NUL bytes but has no mark is UTF-16 too, of unknown byte order: the object is one rejection.
 */
export async function* readRows(stream: Readable, format: ObjectFormat, maxRecordBytes = MAX_RECORD_BYTES): AsyncGenerator<RawRow> {
  const encoding: { refused?: string } = {};
  const bound: RecordBound = { maxBytes: maxRecordBytes, quotes: format === 'csv', oversize: [] };
  const text = Readable.from(boundRecords(lineBreaksToLf(decodeToUtf8(stream, encoding)), bound), { objectMode: false });
  yield* format === 'csv' ? readCsv(text, bound) : readJsonLines(text, bound);
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
async function* readJsonLines(stream: Readable, bound: RecordBound): AsyncGenerator<RawRow> {
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    line++;
    yield* oversizeBefore(bound, line, `line longer than ${bound.maxBytes} bytes; not read`);
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
  yield* oversizeBefore(bound, Infinity, `line longer than ${bound.maxBytes} bytes; not read`);
}

/**
 * RFC 4180 CSV with a header row naming the fields; cells stay text (see `parseImportRow`). Every line break is read
 * as `\n` (CRLF and CR too, inside quoted cells as well), which keeps the parser's line count exact. A record with the
 * wrong number of cells is one bad row. Broken quoting leaves no reliable record boundary after it: the records
 * before it are read, and the rest of the object is one bad row, at the line where the parser gave up. So is a
 * header longer than the bound: without it no record can be read.
 */
async function* readCsv(stream: Readable, bound: RecordBound): AsyncGenerator<RawRow> {
  const tooLong = `record longer than ${bound.maxBytes} bytes (or a quote left open); not read`;
  const headerTooLong = `the header record is longer than ${bound.maxBytes} bytes; the object was not read`;
  let broken: { line: number; code: string } | undefined;
  const parser = stream.pipe(
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
    // After a header left out for its length no record can be read: the object is one row, below.
    if (header === undefined && (bound.oversize[0] ?? Infinity) < line) break;
    yield* oversizeBefore(bound, line, tooLong);
    if (header === undefined) {
      header = record.map((column) => column.trim());
    } else if (record.length !== header.length) {
      yield { line, reason: `expected ${header.length} cells as in the header, found ${record.length}` };
    } else {
      yield { line, fields: Object.fromEntries(header.map((column, i) => [column, record[i]!])), text: true };
    }
  }
  if (header === undefined && bound.oversize.length > 0) {
    yield { line: bound.oversize[0]!, reason: headerTooLong, rest: true };
    return;
  }
  yield* oversizeBefore(bound, broken?.line ?? Infinity, tooLong);
  if (broken) yield { line: broken.line, reason: `malformed CSV (${broken.code}); the rest of the object was not read`, rest: true };
}

interface RecordBound {
  maxBytes: number;
  /** CSV: a line break inside a quoted cell does not end the record. */
  quotes: boolean;
  /** First lines of the records left out for their length, in order, not yet reported. */
  oversize: number[];
}

/** The records left out for their length that start before `line`, as bad rows. */
function* oversizeBefore(bound: RecordBound, line: number, reason: string): Generator<RawRow> {
  while (bound.oversize.length > 0 && bound.oversize[0]! < line) yield { line: bound.oversize.shift()!, reason };
}

const LF = Buffer.from('\n');

/**
 * The text (line breaks as LF) with every record longer than `maxBytes` left out: replaced by as many blank lines as
 * it spans, so the parsers' line numbers after it stay true, and its first line noted in `oversize`. Memory holds
 * at most one record within the bound and one chunk. A record ends at a line break, in CSV at one outside quotes
 * (quote parity: an escaped `""` inside a quoted cell toggles twice). An unclosed quote is a record up to the end.
 */
async function* boundRecords(chunks: AsyncIterable<Buffer>, { maxBytes, quotes, oversize }: RecordBound): AsyncGenerator<Buffer> {
  let line = 1; // where the current record starts
  let breaks = 0; // line breaks inside it (quoted cells) so far
  let emitted = 0; // of those, sent on as blank lines while it is left out
  let size = 0;
  let held: Buffer[] = [];
  let skipping = false;
  let quoted = false;
  /** The line break at or after `from` that ends the current record, or -1. */
  const recordEnd = (chunk: Buffer, from: number): number => {
    if (!quotes) return chunk.indexOf(0x0a, from);
    for (let i = from; i < chunk.length; i++) {
      if (chunk[i] === 0x22) quoted = !quoted;
      else if (chunk[i] === 0x0a) {
        if (!quoted) return i;
        breaks++;
      }
    }
    return -1;
  };
  const take = (part: Buffer, out: Buffer[]) => {
    size += part.length;
    if (!skipping && size > maxBytes) {
      skipping = true;
      held = [];
      oversize.push(line);
    }
    if (!skipping) {
      held.push(part);
    } else if (breaks > emitted) {
      out.push(Buffer.alloc(breaks - emitted, 0x0a));
      emitted = breaks;
    }
  };
  const end = (out: Buffer[], terminated: boolean) => {
    if (!skipping) out.push(...held);
    if (terminated) out.push(LF);
    line += breaks + 1;
    [breaks, emitted, size, held, skipping] = [0, 0, 0, [], false];
  };
  for await (const chunk of chunks) {
    const out: Buffer[] = [];
    let start = 0;
    for (let stop = recordEnd(chunk, 0); stop !== -1; stop = recordEnd(chunk, start)) {
      take(chunk.subarray(start, stop), out);
      end(out, true);
      start = stop + 1;
    }
    take(chunk.subarray(start), out);
    if (out.length > 0) yield Buffer.concat(out);
  }
  const out: Buffer[] = [];
  end(out, false);
  if (out.length > 0) yield Buffer.concat(out);
}

/**
 * CRLF and lone CR → LF, byte-wise (neither byte occurs inside a multi-byte UTF-8 character), across chunk
 * boundaries: the parsers count every one of them as a line.
 */
async function* lineBreaksToLf(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pendingCarriageReturn = false;
  for await (const chunk of chunks) {
    if (!pendingCarriageReturn && !chunk.includes(0x0d)) {
      yield chunk;
      continue;
    }
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let length = 0;
    if (pendingCarriageReturn && chunk[0] !== 0x0a) out[length++] = 0x0a;
    pendingCarriageReturn = false;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0x0d) out[length++] = chunk[i]!;
      else if (i + 1 === chunk.length) pendingCarriageReturn = true;
      else if (chunk[i + 1] !== 0x0a) out[length++] = 0x0a;
    }
    yield out.subarray(0, length);
  }
  if (pendingCarriageReturn) yield LF;
}
