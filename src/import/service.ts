import { and, asc, eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { Transform, type Readable } from 'node:stream';
import { describeError, summarizeError } from '../db/describe-error';
import { toLockstepError } from '../db/errors';
import type { ImportConfig } from '../config';
import type { Db } from '../db/handle';
import { isRefusal, LockstepError } from '../errors';
import { findImportedEventId, importEvent } from '../events/service';
import { logger } from '../logger';
import { importRegistration } from '../registrations/service';
import type { UserRow } from '../users/schema';
import { ensureUser } from '../users/service';
import { parseImportRow, type ImportedEvent, type ImportedRegistration, type ImportRow } from './contract';
import { Checkpoint } from './checkpoint';
import { SourceLease, type LeaseHeld } from './lease';
import { isImportLocation, parseImportLocation } from './location';
import { readRows, type RawRow } from './rows';
import { importObjects, importRejections, importRuns } from './schema';
import { Semaphore } from './semaphore';
import { compareNames, objectStore, type ObjectStore, type SourceObject } from './sources';

export interface ImportSettings {
  /** IMPORT_SOURCE: `s3://bucket/prefix/`, a folder, or one .jsonl/.csv file. */
  location: string;
  /** IMPORT_OWNER_SUB: the organizer of imported events. */
  ownerSub: string;
  /** IMPORT_CONCURRENCY: rows written at once. */
  concurrency: number;
  /** Read objects already imported too; the rows' external keys still create nothing twice. Implies `rescan`. */
  reprocess?: boolean;
  /**
   * List the whole source instead of only the names after its watermark, to find objects that arrived under a name
   * sorting before it; objects already imported are still skipped.
   */
  rescan?: boolean;
  /** How long the run's lease on its source lasts without renewal (LEASE_MS by default). */
  leaseMs?: number;
  /** The longest record (JSONL line, CSV record) read, in bytes; a longer one is one rejection. MAX_RECORD_BYTES by default. */
  maxRecordBytes?: number;
  /** IMPORT_S3_ENDPOINT: an S3-compatible endpoint instead of AWS. */
  s3Endpoint?: string;
  /**
   * A time (ms since the epoch) after which the run starts no new row: it finishes the rows in flight, saves how far
   * it got and ends STOPPED, and the next run resumes there. The scheduled function sets it short of its time limit.
   */
  stopAt?: number;
  onProgress?: (progress: ImportProgress) => void;
}

/**
 * The scheduled run's settings from its configuration section, refused at once (the cold start, the CLI's start)
 * when IMPORT_SOURCE names no place an import can read.
 */
export function importSettings(cfg: ImportConfig): ImportSettings {
  if (!isImportLocation(cfg.IMPORT_SOURCE)) {
    throw new Error('Invalid configuration: IMPORT_SOURCE: use s3://bucket/prefix/ or a local path');
  }
  return {
    location: cfg.IMPORT_SOURCE,
    ownerSub: cfg.IMPORT_OWNER_SUB,
    concurrency: cfg.IMPORT_CONCURRENCY,
    s3Endpoint: cfg.IMPORT_S3_ENDPOINT,
  };
}

/** Every row read ends as exactly one of the other four. */
export interface ImportCounts {
  read: number;
  /** New events, and new registrations that were CONFIRMED. */
  created: number;
  /** Rows whose external key existed already: nothing was written. */
  unchanged: number;
  /** New registrations that joined the waitlist. */
  waitlisted: number;
  rejected: number;
}

export interface ImportSummary extends ImportCounts {
  runId: string;
  /**
   * STOPPED: out of time (`stopAt`) before the last object's end; the next run resumes where this one stopped.
   * SKIPPED: another run held the source (`heldBy`); this one read nothing.
   */
  status: 'SUCCEEDED' | 'STOPPED' | 'SKIPPED';
  heldBy?: LeaseHeld;
  source: string;
  objectsImported: number;
  objectsSkipped: number;
}

export interface ImportProgress extends ImportCounts {
  objectsDone: number;
  objectsTotal: number;
  bytesRead: number;
  bytesTotal: number;
}

type Outcome = Exclude<keyof ImportCounts, 'read'>;

/** Rows read ahead of the slowest unfinished row, per unit of concurrency: bounds memory on any object size. */
const READ_AHEAD_PER_SLOT = 32;

/**
 * Import every new object of a source, holding the source's lease (another run holding it makes this one SKIPPED).
 * Objects are read in name order, after the source's watermark; an object already imported with the same content
 * is skipped, and an object is recorded as imported (and the watermark moved to it) only after its last row was
 * processed. Rows are written `concurrency` at a time through the API's services; the rows of one event (the event
 * row and its registrations) are applied in the order they were read, so the waitlist's arrival order is the file
 * order. A bad row is recorded in import_rejections and the others go on; any other failure (the database, the
 * store, a lost lease) stops the run, which is then FAILED and its current object not recorded: the next run resumes
 * it from its checkpoint.
 */
export async function runImport(db: Db, settings: ImportSettings): Promise<ImportSummary> {
  const location = parseImportLocation(settings.location);
  const store = objectStore(location, settings.s3Endpoint);
  const owner = await ensureUser(db, { sub: settings.ownerSub });
  const [row] = await db.insert(importRuns).values({ source: store.source }).returning({ id: importRuns.id });
  // A run of one object neither reads nor moves the watermark: the names before that object may not be done.
  const run = new ImportRun(db, row!.id, store.source, owner, { ...settings, watermarked: location.only === undefined });
  return logger.withKeys({ importRunId: run.id }, async () => {
    let lease: SourceLease | undefined;
    try {
      const acquired = await SourceLease.acquire(db, { source: store.source, runId: run.id }, settings.leaseMs);
      if (!(acquired instanceof SourceLease)) return await run.skip(acquired);
      lease = acquired;
      const summary = await run.importAll(store, lease);
      logger.info('import finished', { ...summary });
      return summary;
    } catch (err) {
      await run.finish('FAILED', summarizeError(err)).catch(() => undefined);
      logger.error('import failed', { source: store.source, ...run.counts, error: describeError(err) });
      throw err;
    } finally {
      await lease?.release().catch(() => undefined);
    }
  });
}

class ImportRun {
  readonly counts: ImportCounts = { read: 0, created: 0, unchanged: 0, waitlisted: 0, rejected: 0 };
  private objectsImported = 0;
  private objectsSkipped = 0;
  private progress = { objectsDone: 0, objectsTotal: 0, bytesRead: 0, bytesTotal: 0 };
  private readonly slots: Semaphore;
  /** Event ids by external id, as this run wrote or found them; null when there is no such event. */
  private readonly eventIds = new Map<string, string | null>();
  /** The last pending row of each event (by its external id): the next row of that event starts after it. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly db: Db,
    readonly id: string,
    private readonly source: string,
    private readonly owner: UserRow,
    private readonly settings: ImportSettings & { watermarked: boolean },
  ) {
    this.slots = new Semaphore(settings.concurrency);
  }

  /** Another run holds the source: record and report this run as SKIPPED, naming it. */
  async skip(heldBy: LeaseHeld): Promise<ImportSummary> {
    await this.finish('SKIPPED', `run ${heldBy.runId ?? '(released)'} holds the source until ${heldBy.until?.toISOString() ?? 'now'}`);
    logger.info('import skipped: another run holds the source', { source: this.source, heldBy: heldBy.runId, until: heldBy.until });
    return { ...this.summary('SKIPPED'), heldBy };
  }

  async importAll(store: ObjectStore, lease: SourceLease): Promise<ImportSummary> {
    lease.keepAlive((error) => (this.failure ??= { error }));
    const { watermarked, reprocess, rescan } = this.settings;
    const objects = await store.list(watermarked && !reprocess && !rescan ? (lease.watermark ?? undefined) : undefined);
    // Moved only past what it holds: a rescan lists the names below it too, and those need no write.
    let watermark = lease.watermark;
    this.progress.objectsTotal = objects.length;
    this.progress.bytesTotal = objects.reduce((total, object) => total + object.size, 0);
    let bytesDone = 0;
    let status: ImportSummary['status'] = 'SUCCEEDED';
    for (const object of objects) {
      if (this.failure) throw this.failure.error;
      const fingerprint = await store.fingerprint(object);
      if (!this.settings.reprocess && (await this.alreadyImported(object, fingerprint))) {
        this.objectsSkipped++;
      } else {
        const key = { source: this.source, name: object.name, fingerprint };
        const checkpoint = await Checkpoint.load(this.db, key, this.id, this.settings.reprocess ?? false);
        if (!(await this.importObject(object, checkpoint, () => store.open(object)))) {
          status = 'STOPPED';
          await checkpoint.save();
          logger.info('import stopped for time', { object: object.name, ...this.counts });
          break;
        }
        await this.db.insert(importObjects).values({ ...key, runId: this.id }).onConflictDoNothing();
        await checkpoint.clear();
        this.objectsImported++;
        logger.info('import object done', { object: object.name, ...this.counts });
      }
      if (watermarked && (watermark === null || compareNames(object.name, watermark) > 0)) {
        await lease.moveWatermark(object.name);
        watermark = object.name;
      }
      this.progress.objectsDone++;
      bytesDone += object.size;
      this.progress.bytesRead = bytesDone;
      this.report();
      await this.saveCounts();
    }
    await this.finish(status);
    return this.summary(status);
  }

  private summary(status: ImportSummary['status']): ImportSummary {
    return {
      runId: this.id,
      status,
      source: this.source,
      ...this.counts,
      objectsImported: this.objectsImported,
      objectsSkipped: this.objectsSkipped,
    };
  }

  /** Out of time, once this run has made progress: a run always gets at least one row further than the last. */
  private outOfTime(): boolean {
    return this.settings.stopAt !== undefined && this.counts.read > 0 && Date.now() >= this.settings.stopAt;
  }

  private async alreadyImported(object: SourceObject, fingerprint: string): Promise<boolean> {
    const [found] = await this.db
      .select({ name: importObjects.name })
      .from(importObjects)
      .where(
        and(eq(importObjects.source, this.source), eq(importObjects.name, object.name), eq(importObjects.fingerprint, fingerprint)),
      );
    return found !== undefined;
  }

  /** Import one object from its checkpoint on. False when the run ran out of time before the object's end. */
  private async importObject(object: SourceObject, checkpoint: Checkpoint, open: () => Promise<Readable>): Promise<boolean> {
    try {
      return await this.readObject(object, await open(), checkpoint);
    } catch (err) {
      // Save how far the rows before the failure got, so the next run resumes there (best effort: the failure may
      // be the database's).
      await checkpoint.save().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Read the object's rows as they stream in, at most a bounded number ahead of the rows still being written,
   * from where the checkpoint says earlier runs got to.
   */
  private async readObject(object: SourceObject, stream: Readable, checkpoint: Checkpoint): Promise<boolean> {
    const readAhead = new Semaphore(this.settings.concurrency * READ_AHEAD_PER_SLOT);
    const pending = new Set<Promise<void>>();
    let complete = true;
    try {
      for await (const raw of readRows(this.countBytes(stream), object.format, this.settings.maxRecordBytes)) {
        if (raw.line <= checkpoint.resumeAfter) continue;
        await readAhead.acquire();
        if (this.failure || this.outOfTime()) {
          complete = this.failure !== undefined; // A failure is thrown below; only time leaves an object incomplete.
          readAhead.release();
          break;
        }
        this.counts.read++;
        const finished = checkpoint.started(raw.line);
        const task: Promise<void> = this.schedule(object.name, raw)
          // A row skipped because the run is failing stays unfinished: the checkpoint must not pass it.
          .then((processed) => (processed ? finished() : undefined))
          .catch((error: unknown) => {
            this.failure ??= { error };
          })
          .finally(() => {
            readAhead.release();
            pending.delete(task);
            this.report();
          });
        pending.add(task);
      }
    } finally {
      await Promise.all(pending);
      stream.destroy();
    }
    if (this.failure) throw this.failure.error;
    return complete;
  }

  private countBytes(stream: Readable): Readable {
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.progress.bytesRead += chunk.length;
        done(null, chunk);
      },
    });
    stream.once('error', (err) => counter.destroy(err));
    return stream.pipe(counter);
  }

  /** Start one row: now, or after the previous row of the same event. True when it was processed, false if skipped. */
  private schedule(object: string, raw: RawRow): Promise<boolean> {
    const row: ImportRow =
      raw.fields === undefined ? { kind: 'invalid', externalId: undefined, reason: raw.reason } : parseImportRow(raw.fields, raw.text);
    if (row.kind === 'invalid') return this.slots.run(() => this.reject(object, raw.line, row.externalId, row.reason)).then(() => true);
    const eventKey = row.kind === 'event' ? row.row.externalId : row.row.eventExternalId;
    const previous = this.chains.get(eventKey) ?? Promise.resolve();
    const task = previous.then(() => this.slots.run(() => this.apply(object, raw.line, row)));
    const settled = task.catch(() => undefined);
    this.chains.set(eventKey, settled);
    void settled.then(() => {
      if (this.chains.get(eventKey) === settled) this.chains.delete(eventKey);
    });
    return task;
  }

  /**
   * Write one row. False when the run failed before the row's turn came (it waited behind its event's earlier rows):
   * the row was not processed, and the next run must read it again.
   */
  private async apply(object: string, line: number, row: Exclude<ImportRow, { kind: 'invalid' }>): Promise<boolean> {
    if (this.failure) return false;
    let outcome: Outcome;
    try {
      outcome = row.kind === 'event' ? await this.applyEvent(row.row) : await this.applyRegistration(row.row);
    } catch (err) {
      const error = toLockstepError(err);
      // A refusal is the row's fault; anything else (the database went away) must not cost the row.
      if (!isRefusal(error)) throw err;
      await this.reject(object, line, row.row.externalId, rejectionReason(error));
      return true;
    }
    this.counts[outcome]++;
    return true;
  }

  private async applyEvent({ externalId, ...fields }: ImportedEvent): Promise<Outcome> {
    const { eventId, created } = await importEvent(this.db, this.owner, { source: this.source, externalId }, fields);
    this.eventIds.set(externalId, eventId);
    return created ? 'created' : 'unchanged';
  }

  private async applyRegistration({ eventExternalId, externalId, ...input }: ImportedRegistration): Promise<Outcome> {
    let eventId = this.eventIds.get(eventExternalId);
    if (eventId === undefined) {
      eventId = (await findImportedEventId(this.db, { source: this.source, externalId: eventExternalId })) ?? null;
      this.eventIds.set(eventExternalId, eventId);
    }
    if (eventId === null) {
      throw new LockstepError('not_found', 'No event with this eventExternalId in this source (event rows must come first)', {
        errors: [{ path: 'eventExternalId', message: 'Unknown event' }],
      });
    }
    const status = await importRegistration(this.db, eventId, { source: this.source, externalId }, input);
    return status === 'unchanged' ? 'unchanged' : status === 'WAITLIST' ? 'waitlisted' : 'created';
  }

  private async reject(object: string, line: number, externalId: string | undefined, reason: string): Promise<void> {
    await this.db
      .insert(importRejections)
      .values({ runId: this.id, object: storable(object), line, externalId: externalId && storable(externalId), reason: storable(reason) });
    this.counts.rejected++;
  }

  private report(): void {
    this.settings.onProgress?.({ ...this.counts, ...this.progress });
  }

  private async saveCounts(extra: PgUpdateSetSource<typeof importRuns> = {}): Promise<void> {
    await this.db
      .update(importRuns)
      .set({
        rowsRead: this.counts.read,
        created: this.counts.created,
        unchanged: this.counts.unchanged,
        waitlisted: this.counts.waitlisted,
        rejected: this.counts.rejected,
        objectsImported: this.objectsImported,
        objectsSkipped: this.objectsSkipped,
        ...extra,
      })
      .where(eq(importRuns.id, this.id));
  }

  /** `error`: a summarizeError text, which holds no SQL, parameters or row contents. */
  async finish(status: ImportSummary['status'] | 'FAILED', error?: string): Promise<void> {
    await this.saveCounts({ status, error: error?.slice(0, 500), finishedAt: sql`now()` });
  }
}

/** The first rejections of a run, in object and line order (the CLI prints them). */
export async function listRejections(db: Db, runId: string, limit: number) {
  return db
    .select({ object: importRejections.object, line: importRejections.line, externalId: importRejections.externalId, reason: importRejections.reason })
    .from(importRejections)
    .where(eq(importRejections.runId, runId))
    .orderBy(asc(importRejections.object), asc(importRejections.line))
    .limit(limit);
}

/**
 * Text from a file, made storable whatever it holds: Postgres text cannot hold NUL, so a rejection of a row with
 * one could otherwise not be recorded (and the run would fail on it, at every schedule).
 */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').slice(0, 2000);
}

function rejectionReason(error: LockstepError): string {
  const fields = error.errors?.map((field) => `${field.path}: ${field.message}`).join('; ');
  return `${error.code}: ${error.message}${fields ? ` (${fields})` : ''}`;
}
