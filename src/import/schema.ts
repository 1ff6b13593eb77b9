import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * STOPPED: the run used up its time budget (the Lambda limit) mid-source; the next run resumes where it stopped.
 * SKIPPED: another run held the source's lease, so this one imported nothing.
 */
export const importRunStatusEnum = pgEnum('import_run_status', ['RUNNING', 'SUCCEEDED', 'FAILED', 'STOPPED', 'SKIPPED']);

/**
 * One row per import run, with its counts. Every row read ends as exactly one of created (an event, or a CONFIRMED
 * registration), waitlisted (a new WAITLIST registration), unchanged (its external key already existed) or
 * rejected. A run that dies without reaching its end stays RUNNING.
 */
export const importRuns = pgTable(
  'import_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    source: text('source').notNull(),
    status: importRunStatusEnum('status').notNull().default('RUNNING'),
    objectsImported: integer('objects_imported').notNull().default(0),
    objectsSkipped: integer('objects_skipped').notNull().default(0),
    rowsRead: integer('rows_read').notNull().default(0),
    created: integer('created').notNull().default(0),
    unchanged: integer('unchanged').notNull().default(0),
    waitlisted: integer('waitlisted').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
    /** Why a FAILED run stopped (an error code or class, never row contents), or which run a SKIPPED one found. */
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [index('import_runs_source_started_idx').on(table.source, table.startedAt)],
);

/** A row an import refused, with where it was and why; the other rows of its object are imported regardless. */
export const importRejections = pgTable(
  'import_rejections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id').notNull(),
    object: text('object').notNull(),
    /** 1-based line in the object where the row starts. */
    line: integer('line').notNull(),
    externalId: text('external_id'),
    reason: text('reason').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    foreignKey({ name: 'import_rejections_run_id_fkey', columns: [table.runId], foreignColumns: [importRuns.id] }).onDelete(
      'cascade',
    ),
    index('import_rejections_run_idx').on(table.runId, table.object, table.line),
    check('import_rejections_line_positive', sql`${table.line} >= 1`),
  ],
);

/**
 * Objects whose every row was processed, by name and content fingerprint (S3 ETag, or SHA-256 of a local file): a
 * later run skips them. Written only after the object's last row; a run cut short mid-object resumes from its
 * checkpoint (import_checkpoints).
 */
export const importObjects = pgTable(
  'import_objects',
  {
    source: text('source').notNull(),
    name: text('name').notNull(),
    fingerprint: text('fingerprint').notNull(),
    runId: uuid('run_id').notNull(),
    importedAt: timestamp('imported_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ name: 'import_objects_pkey', columns: [table.source, table.name, table.fingerprint] })],
);

/**
 * How far into an object (by name and content fingerprint) runs have got: every row starting at or before `line` was
 * processed. Saved as the run goes, so a run that stops, crashes or is killed costs the next one at most the rows
 * after the last save, which the rows' external keys make harmless to repeat. Deleted with the object's completion.
 */
export const importCheckpoints = pgTable(
  'import_checkpoints',
  {
    source: text('source').notNull(),
    name: text('name').notNull(),
    fingerprint: text('fingerprint').notNull(),
    line: integer('line').notNull(),
    runId: uuid('run_id').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ name: 'import_checkpoints_pkey', columns: [table.source, table.name, table.fingerprint] })],
);

/**
 * One row per source. The lease: the run that holds the source, until `lease_expires_at` (renewed while it runs; a
 * crashed run's lapses), so two runs of one source never overlap. The watermark: every object whose name sorts at or
 * before it (bytewise, as S3 lists) is done, so a run lists only the names after it.
 */
export const importSources = pgTable(
  'import_sources',
  {
    source: text('source').primaryKey(),
    leaseRunId: uuid('lease_run_id'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true, mode: 'date' }),
    watermark: text('watermark'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [check('import_sources_lease_pair', sql`(${table.leaseRunId} is null) = (${table.leaseExpiresAt} is null)`)],
);

export type ImportRunRow = typeof importRuns.$inferSelect;
