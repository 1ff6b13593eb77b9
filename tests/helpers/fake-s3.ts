import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

export interface FakeS3 {
  endpoint: string;
  put(bucket: string, key: string, body: string): void;
  /**
   * The next GET of `key` sends its first `bytes` bytes, then waits for `release()` before sending the rest: a
   * reader that needs the whole body before its first row never gets past that point.
   */
  hold(key: string, bytes: number): { release: () => void; reached: Promise<void> };
  /** The next GET of `key` breaks the connection after `bytes` bytes, as a crash of the network or the store would. */
  cut(key: string, bytes: number): void;
  /** `GET /bucket/key`, or `GET /bucket/ list` with ` after <key>` when the listing started after a key. */
  requests: string[];
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The two S3 operations an import uses, over real HTTP on 127.0.0.1, path-style: ListObjectsV2 (two keys per page,
 * so continuation tokens are exercised; StartAfter) and GetObject (the body written in chunks). Signatures are not
 * checked.
 */
export async function startFakeS3(): Promise<FakeS3> {
  const buckets = new Map<string, Map<string, Buffer>>();
  const holds = new Map<string, Hold>();
  const requests: string[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-s3');
    const [, bucketName, ...keyParts] = url.pathname.split('/');
    const bucket = buckets.get(decodeURIComponent(bucketName ?? ''));
    const after = url.searchParams.get('start-after');
    requests.push(`${req.method} ${url.pathname}${url.searchParams.has('list-type') ? ' list' : ''}${after === null ? '' : ` after ${after}`}`);
    if (!bucket) return xmlError(res, 404, 'NoSuchBucket');
    if (keyParts.length === 0 || (keyParts.length === 1 && keyParts[0] === '')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      // Keys in UTF-8 byte order, as S3 lists them.
      const keys = [...bucket.keys()]
        .filter((key) => key.startsWith(prefix) && (after === null || Buffer.compare(Buffer.from(key), Buffer.from(after)) > 0))
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const start = Number(url.searchParams.get('continuation-token') ?? 0);
      const page = keys.slice(start, start + 2);
      const truncated = start + 2 < keys.length;
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${escapeXml(bucketName!)}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>${truncated}</IsTruncated>${truncated ? `<NextContinuationToken>${start + 2}</NextContinuationToken>` : ''}${page
        .map((key) => `<Contents><Key>${escapeXml(key)}</Key><LastModified>2027-01-01T00:00:00.000Z</LastModified><ETag>&quot;${etag(bucket.get(key)!)}&quot;</ETag><Size>${bucket.get(key)!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`)
        .join('')}</ListBucketResult>`);
      return;
    }
    const key = keyParts.map(decodeURIComponent).join('/');
    const body = bucket.get(key);
    if (!body) return xmlError(res, 404, 'NoSuchKey');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, etag: `"${etag(body)}"` });
    void writeChunked(res, body, holds.get(key));
    holds.delete(key);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the SDK keeps connections alive
      }),
  );

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    put(bucketName, key, body) {
      if (!buckets.has(bucketName)) buckets.set(bucketName, new Map());
      buckets.get(bucketName)!.set(key, Buffer.from(body));
    },
    hold(key, bytes) {
      let release!: () => void;
      let onReached!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const reached = new Promise<void>((resolve) => (onReached = resolve));
      holds.set(key, { bytes, released, onReached });
      return { release, reached };
    },
    cut(key, bytes) {
      holds.set(key, { bytes, released: Promise.resolve(), onReached: () => undefined, cut: true });
    },
  };
}

interface Hold {
  bytes: number;
  released: Promise<void>;
  onReached: () => void;
  cut?: boolean;
}

const etag = (body: Buffer) => createHash('md5').update(body).digest('hex');

async function writeChunked(res: ServerResponse, body: Buffer, hold?: Hold) {
  const chunk = 16 * 1024;
  for (let offset = 0; offset < body.length; offset += chunk) {
    const end = Math.min(body.length, offset + chunk);
    if (hold && offset < hold.bytes && end >= hold.bytes) {
      res.write(body.subarray(offset, hold.bytes));
      if (hold.cut) {
        // Let the bytes so far reach the client, then break the connection mid-body.
        await new Promise((resolve) => setTimeout(resolve, 100));
        res.destroy();
        return;
      }
      hold.onReached();
      await hold.released;
      res.write(body.subarray(hold.bytes, end));
    } else {
      res.write(body.subarray(offset, end));
    }
  }
  res.end();
}

function xmlError(res: ServerResponse, status: number, code: string) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
}
