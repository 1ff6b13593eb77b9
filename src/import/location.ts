import { basename, dirname, resolve } from 'node:path';

/**
 * Where an import reads from. `source` is the import's identity: external ids are unique per source, and objects
 * are remembered per source by `name`, their path relative to it. A single file (or S3 key) belongs to the source
 * of its folder (or prefix), so importing one file and later its whole folder creates nothing twice.
 */
export type ImportLocation =
  | { kind: 's3'; source: string; bucket: string; prefix: string; only?: string }
  | { kind: 'folder'; source: string; folder: string; only?: string };

export type ObjectFormat = 'csv' | 'jsonl';

const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

/** The format of an object by its name's extension, or undefined for objects an import ignores. */
export function objectFormat(name: string): ObjectFormat | undefined {
  const match = /\.(csv|jsonl)$/i.exec(name);
  return match ? (match[1]!.toLowerCase() as ObjectFormat) : undefined;
}

export function isImportLocation(text: string): boolean {
  return text.length > 0 && (!text.startsWith('s3://') || S3_URL.test(text));
}

export function parseImportLocation(text: string): ImportLocation {
  if (!isImportLocation(text)) throw new Error('An import location is s3://bucket/prefix/ or a local path');
  const s3 = S3_URL.exec(text);
  if (s3) {
    const bucket = s3[1]!;
    const key = s3[2] ?? '';
    const single = objectFormat(key) !== undefined;
    const folder = single ? key.slice(0, key.lastIndexOf('/') + 1) : key === '' || key.endsWith('/') ? key : `${key}/`;
    return { kind: 's3', source: `s3://${bucket}/${folder}`, bucket, prefix: folder, only: single ? key.slice(folder.length) : undefined };
  }
  const path = resolve(text);
  if (objectFormat(path) !== undefined) {
    return { kind: 'folder', source: dirname(path), folder: dirname(path), only: basename(path) };
  }
  return { kind: 'folder', source: path, folder: path };
}
