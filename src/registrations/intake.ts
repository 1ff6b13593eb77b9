import { sql, type SQL } from 'drizzle-orm';
import { deadlineTimestamp } from '../db/deadline';
import type { Db } from '../db/handle';
import { executePreparedText, renderedText } from '../db/prepared';
import { deleteInBatches } from '../db/purge';
import type { PendingKey } from '../idempotency/store';
import type { ExternalKey } from '../contract/external-key';
import { events } from '../events/schema';
import { registrationIntake, type RegistrationStatus } from './schema';

/**
 * The sequenced intake (docs/ticket-drop.md): every registration is ONE call of the procedure `lockstep_register`
 * (rendered by ./admission.ts, created by a migration), which commits the request's intake row, then waits for
 * the event's admitter: whoever takes the admission lock decides every pending row that arrived before its
 * horizon with ONE statement, one counter update and one commit for the whole batch, in arrival order.
 */
export const INTAKE_PROCEDURE = 'lockstep_register';

const i = registrationIntake;

/** The intake row's fields the procedure takes as parameters, in their order (./admission.ts renders them). */
export const INTAKE_FIELDS = ['name', 'email', 'spots', 'cancelTokenHash', 'importSource', 'externalId', 'keyScope', 'keyHash',
  'keyFingerprint', 'keyStatus', 'keyHeaders', 'keySealedBody', 'deadline'] as const;

/** INTAKE_FIELDS' columns, in their order. */
export const INTAKE_COLUMNS = INTAKE_FIELDS.map((field) => i[field]);

/**
 * The procedure's IN parameters, in their order: the event (by id, or by slug), then INTAKE_COLUMNS, each typed as
 * its column. ./admission.ts declares them; the CALL below casts its values to the same types.
 */
export const INTAKE_PARAMETERS = [
  { name: 'p_event_id', type: events.id.getSQLType() },
  { name: 'p_slug', type: events.slug.getSQLType() },
  ...INTAKE_COLUMNS.map((column) => ({ name: `p_${column.name}`, type: column.getSQLType() })),
];

/** The outcome a call answers with (its INOUT parameters). */
export interface IntakeOutcome {
  o_status: RegistrationStatus | null;
  o_public_body: string | null;
  o_refused_state: string | null;
  o_refused_constraint: string | null;
  o_messages: number | null;
}

/** The procedure's INOUT parameters, in their order: IntakeOutcome's fields. */
export const OUTCOME_COLUMNS = ['o_status', 'o_public_body', 'o_refused_state', 'o_refused_constraint', 'o_messages'] as const satisfies ReadonlyArray<keyof IntakeOutcome>;

/** One registration's way through the intake: the event, what the client sent, and what the row carries. */
export interface IntakeRequest {
  event: { slug: string } | { id: string };
  name: string;
  email: string;
  spots: number;
  cancelTokenHash: string;
  external?: ExternalKey;
  key?: PendingKey;
}

/** The call's text, rendered once at load, each value cast to its parameter's type: only the values are bound on each call. */
const CALL = renderedText(
  sql`call ${sql.identifier(INTAKE_PROCEDURE)}(${sql.raw(INTAKE_PARAMETERS.map(({ type }, n) => `$${n + 1}::${type}`).join(', '))})`,
);

/** Register through the event's intake: ONE statement (a CALL), answered when the row is decided. */
export async function throughIntake(db: Db, request: IntakeRequest): Promise<IntakeOutcome> {
  const { event, key, external } = request;
  const values: Record<(typeof INTAKE_FIELDS)[number], unknown> = {
    name: request.name,
    email: request.email,
    spots: request.spots,
    cancelTokenHash: request.cancelTokenHash,
    importSource: external?.source ?? null,
    externalId: external?.externalId ?? null,
    keyScope: key?.scope ?? null,
    keyHash: key?.keyHash ?? null,
    keyFingerprint: key?.fingerprint ?? null,
    keyStatus: key?.status ?? null,
    keyHeaders: key ? JSON.stringify(key.headers) : null,
    keySealedBody: key?.sealedBody ?? null,
    deadline: deadlineTimestamp(),
  };
  const params = ['id' in event ? event.id : null, 'slug' in event ? event.slug : null, ...INTAKE_FIELDS.map((field) => values[field])];
  const { rows } = await executePreparedText<IntakeOutcome>(db, CALL, params);
  return rows[0]!;
}

/**
 * The backend that waits for a row (its pid and start) is still there. A backend of another database role shows no
 * start (PostgreSQL hides it), and counts as there: a row is refused as gone only when its backend surely is.
 */
export const ownerWaits = (pid: SQL, start: SQL): SQL =>
  sql`exists (select 1 from pg_stat_get_activity(${pid}) as a where a.backend_start = ${start} or a.backend_start is null)`;

/** How long a decided intake row is kept: a record of how its batch went, for the operator (docs/ticket-drop.md). */
export const INTAKE_RETENTION_HOURS = 1;

/**
 * Delete the intake rows nobody needs: decided more than INTAKE_RETENTION_HOURS ago, or still pending while the
 * backend that waits for them is gone (its request answered; no admitter came by to refuse the row). A row an
 * admitter is deciding is locked: the delete waits, then finds it decided and keeps it.
 */
export function purgeIntake(db: Db): Promise<number> {
  return deleteInBatches(
    db,
    i,
    sql`${i.decidedAt} < now() - make_interval(hours => ${INTAKE_RETENTION_HOURS})
      or (${i.decidedAt} is null and not ${ownerWaits(sql`${i.ownerPid}`, sql`${i.ownerStart}`)})`,
  );
}
