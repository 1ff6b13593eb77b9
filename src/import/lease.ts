import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { nowPlusMs } from '../db/sql-time';
import { importSources } from './schema';

/** How long a run holds its source without renewing: a crashed run's lease lapses this long after its last renewal. */
const LEASE_MS = 60_000;

/** Renewals per lease period: two can fail or be late before the lease lapses. */
const RENEWALS_PER_LEASE = 3;

interface LeaseKey {
  source: string;
  runId: string;
}

/** Another run holds the source. */
export interface LeaseHeld {
  runId: string | null;
  until: Date | null;
}

/**
 * A run's exclusive hold on its source, in one row of import_sources, so two runs of a source never overlap (Lambda's
 * retry after a timeout, the next schedule, a run from the command line). Statements only, no session state: it
 * works behind Neon's pooler (PgBouncer in transaction mode), where a session advisory lock would not. The times
 * are the database's, so clocks of Lambdas and laptops do not matter. It also fences the watermark: only the
 * holder moves it.
 */
export class SourceLease {
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  private constructor(
    private readonly db: Db,
    private readonly key: LeaseKey,
    private readonly ms: number,
    /** The source's watermark when the lease was taken. */
    readonly watermark: string | null,
  ) {}

  /** Take the source if no run holds it or its holder's lease has lapsed; else say who holds it and until when. */
  static async acquire(db: Db, key: LeaseKey, ms: number = LEASE_MS): Promise<SourceLease | LeaseHeld> {
    const s = importSources;
    const [taken] = await db
      .insert(s)
      .values({ source: key.source, leaseRunId: key.runId, leaseExpiresAt: nowPlusMs(ms) })
      .onConflictDoUpdate({
        target: s.source,
        set: { leaseRunId: sql`excluded.${sql.identifier('lease_run_id')}`, leaseExpiresAt: sql`excluded.${sql.identifier('lease_expires_at')}`, updatedAt: sql`now()` },
        // A conflicting insert waits for the other's commit and then sees its lease: one of two runs at once wins.
        setWhere: sql`${s.leaseExpiresAt} is null or ${s.leaseExpiresAt} <= now()`,
      })
      .returning({ watermark: s.watermark });
    if (taken) return new SourceLease(db, key, ms, taken.watermark);
    const [holder] = await db.select({ runId: s.leaseRunId, until: s.leaseExpiresAt }).from(s).where(eq(s.source, key.source));
    return { runId: holder?.runId ?? null, until: holder?.until ?? null };
  }

  /**
   * Renew the lease while the run goes on. `onLost` is told once when a renewal finds the lease gone (it lapsed and
   * another run took it) or cannot tell (the database did not answer): the run must then start no more rows.
   */
  keepAlive(onLost: (error: LeaseLost) => void): void {
    this.timer = setInterval(() => {
      if (this.renewing) return;
      this.renewing = true;
      this.renew()
        .then((held) => {
          if (!held) throw new LeaseLost();
        })
        .catch((err: unknown) => {
          clearInterval(this.timer);
          onLost(err instanceof LeaseLost ? err : new LeaseLost(err));
        })
        .finally(() => (this.renewing = false));
    }, this.ms / RENEWALS_PER_LEASE);
    this.timer.unref();
  }

  private async renew(): Promise<boolean> {
    const rows = await this.db
      .update(importSources)
      .set({ leaseExpiresAt: nowPlusMs(this.ms), updatedAt: sql`now()` })
      .where(this.held())
      .returning({ source: importSources.source });
    return rows.length > 0;
  }

  /** Every object named up to `name` is done. Never moves back; refused (thrown) once the lease is gone. */
  async moveWatermark(name: string): Promise<void> {
    const s = importSources;
    const after = sql`${name}::text collate "C"`;
    const rows = await this.db
      .update(s)
      .set({ watermark: sql`case when ${s.watermark} is null or ${s.watermark} collate "C" < ${after} then ${name} else ${s.watermark} end`, updatedAt: sql`now()` })
      .where(this.held())
      .returning({ source: s.source });
    if (rows.length === 0) throw new LeaseLost();
  }

  /** Stop renewing and let the next run take the source at once (a lease already lost is left to its holder). */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.db.update(importSources).set({ leaseRunId: null, leaseExpiresAt: null, updatedAt: sql`now()` }).where(this.held());
  }

  private held() {
    return and(eq(importSources.source, this.key.source), eq(importSources.leaseRunId, this.key.runId));
  }
}

/** The run no longer holds its source (or cannot tell): it must start no more rows. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  readonly code = 'import_lease_lost';

  constructor(cause?: unknown) {
    super('The import run lost its lease on the source (it lapsed, and another run may hold it now)', { cause });
  }
}
