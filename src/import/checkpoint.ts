import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { importCheckpoints } from './schema';

/** Saves are throttled: a kill costs the next run at most this many rows, or a second's worth, to process again. */
const SAVE_EVERY_LINES = 200;
const SAVE_EVERY_MS = 1000;

export interface CheckpointKey {
  source: string;
  name: string;
  fingerprint: string;
}

/**
 * How far into one object a run has got. Rows finish out of order (they are written concurrently), so the saved
 * line is the low-water mark: the last line before which every row read has finished.
 */
export class Checkpoint {
  private readonly inFlight: Array<{ line: number; done: boolean }> = [];
  private saved: number;
  private savedAt = performance.now();
  private saving: Promise<void> = Promise.resolve();
  private mark: number;

  private constructor(
    private readonly db: Db,
    private readonly key: CheckpointKey,
    private readonly runId: string,
    /** Rows starting at or before this line were processed by an earlier run. */
    readonly resumeAfter: number,
  ) {
    this.saved = resumeAfter;
    this.mark = resumeAfter;
  }

  static async load(db: Db, key: CheckpointKey, runId: string, fresh: boolean): Promise<Checkpoint> {
    if (fresh) return new Checkpoint(db, key, runId, 0);
    const [row] = await db.select({ line: importCheckpoints.line }).from(importCheckpoints).where(matches(key));
    return new Checkpoint(db, key, runId, row?.line ?? 0);
  }

  started(line: number): () => Promise<void> {
    const entry = { line, done: false };
    this.inFlight.push(entry);
    return () => {
      entry.done = true;
      while (this.inFlight[0]?.done) this.mark = Math.max(this.mark, this.inFlight.shift()!.line);
      const due = this.mark - this.saved >= SAVE_EVERY_LINES || performance.now() - this.savedAt >= SAVE_EVERY_MS;
      return due ? this.save() : Promise.resolve();
    };
  }

  /** Save the low-water mark if it moved. Saves run one after another and never move the line back. */
  save(): Promise<void> {
    if (this.mark <= this.saved) return this.saving;
    const line = this.mark;
    this.saved = line;
    this.savedAt = performance.now();
    this.saving = this.saving.then(async () => {
      await this.db
        .insert(importCheckpoints)
        .values({ ...this.key, line, runId: this.runId })
        .onConflictDoUpdate({
          target: [importCheckpoints.source, importCheckpoints.name, importCheckpoints.fingerprint],
          set: { line: sql`greatest(${importCheckpoints.line}, excluded.line)`, runId: this.runId, updatedAt: sql`now()` },
        });
    });
    return this.saving;
  }

  /** The object is done: its record in import_objects replaces the checkpoint. */
  async clear(): Promise<void> {
    await this.saving;
    await this.db.delete(importCheckpoints).where(matches(this.key));
  }
}

const matches = (key: CheckpointKey) =>
  and(eq(importCheckpoints.source, key.source), eq(importCheckpoints.name, key.name), eq(importCheckpoints.fingerprint, key.fingerprint));
