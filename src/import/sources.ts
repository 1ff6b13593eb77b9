import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { objectFormat, type ImportLocation, type ObjectFormat } from './location';

export interface SourceObject {
  /** Path relative to the source, with `/` separators. */
  name: string;
  format: ObjectFormat;
  size: number;
  /** The S3 ETag, known from the listing; local files are hashed on demand. */
  etag?: string;
}

/**
 * The objects of one import location: listed in name order (bytewise in UTF-8, as S3 lists keys), fingerprinted by
 * content, read as streams.
 */
export interface ObjectStore {
  source: string;
  /** `after`: only the names that sort after it (S3's StartAfter), the source's watermark. */
  list(after?: string): Promise<SourceObject[]>;
  fingerprint(object: SourceObject): Promise<string>;
  open(object: SourceObject): Promise<Readable>;
}

/** `s3Endpoint`: an S3-compatible server (MinIO, a test's fake), addressed path-style; AWS itself when unset. */
export function objectStore(location: ImportLocation, s3Endpoint?: string): ObjectStore {
  if (location.kind === 'folder') return folderStore(location);
  return s3Store(location, new S3Client(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint, forcePathStyle: true }));
}

/** Bytewise in UTF-8: S3's order, and Postgres' `collate "C"`, which compares the watermark. */
export const compareNames = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const byName = (a: SourceObject, b: SourceObject) => compareNames(a.name, b.name);

function folderStore(location: Extract<ImportLocation, { kind: 'folder' }>): ObjectStore {
  const pathOf = (object: SourceObject) => join(location.folder, ...object.name.split('/'));
  return {
    source: location.source,
    async list(after) {
      const paths = location.only !== undefined ? [location.only] : await readdir(location.folder, { recursive: true });
      const objects: SourceObject[] = [];
      for (const path of paths) {
        const name = path.split(sep).join('/');
        const format = objectFormat(name);
        // Names only, until here: the files before the watermark cost no stat (and no hash).
        if (format === undefined || (after !== undefined && compareNames(name, after) <= 0)) continue;
        const info = await stat(join(location.folder, path));
        if (info.isFile()) objects.push({ name, format, size: info.size });
      }
      return objects.sort(byName);
    },
    async fingerprint(object) {
      const hash = createHash('sha256');
      await pipeline(createReadStream(pathOf(object)), hash);
      return `sha256:${hash.digest('hex')}`;
    },
    async open(object) {
      return createReadStream(pathOf(object));
    },
  };
}

function s3Store(location: Extract<ImportLocation, { kind: 's3' }>, client: S3Client): ObjectStore {
  const keyOf = (object: SourceObject) => `${location.prefix}${object.name}`;
  return {
    source: location.source,
    async list(after) {
      const objects: SourceObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: location.bucket,
            Prefix: location.only !== undefined ? `${location.prefix}${location.only}` : location.prefix,
            StartAfter: after === undefined ? undefined : `${location.prefix}${after}`,
            ContinuationToken: token,
          }),
        );
        for (const entry of page.Contents ?? []) {
          const name = entry.Key?.slice(location.prefix.length) ?? '';
          const format = objectFormat(name);
          if (format === undefined || (location.only !== undefined && name !== location.only)) continue;
          objects.push({ name, format, size: entry.Size ?? 0, etag: entry.ETag });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return objects.sort(byName);
    },
    async fingerprint(object) {
      return `etag:${object.etag ?? ''}`;
    },
    async open(object) {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: keyOf(object) }));
      // In Node the SDK's body is the HTTP response stream itself: rows are parsed as the bytes arrive.
      if (!(Body instanceof Readable)) throw new Error('S3 returned no readable body');
      return Body;
    },
  };
}
