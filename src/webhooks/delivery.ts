import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { columnNames } from '../db/columns';
import type { Db } from '../db/handle';
import type { WebhookConfig } from '../config';
import { logger } from '../logger';
import { webhookAttempts, webhookMessages, webhookMessageStatusEnum, webhookSubscriptions } from './schema';
import { send, type SendOptions, type SendOutcome } from './send';
import { signatureHeader } from './signing';
import { nowPlusMs } from '../db/sql-time';

/**
 * The Standard Webhooks retry schedule: the delay before each attempt, the first immediate. After the last
 * attempt fails the message is FAILED (about three days after it was written).
 */
export const RETRY_SCHEDULE_MS = [0, 5e3, 5 * 60e3, 30 * 60e3, 2 * 3600e3, 5 * 3600e3, 10 * 3600e3, 14 * 3600e3, 20 * 3600e3, 24 * 3600e3];

export interface DeliveryOptions extends SendOptions {
  /** Delays before each attempt (RETRY_SCHEDULE_MS; tests shorten it). */
  schedule: readonly number[];
  /** Failing this long without a success disables the subscription. */
  disableAfterMs: number;
  /** Messages claimed at once (and sent concurrently). */
  batch: number;
  /** Stop claiming once this moment (epoch ms) is near: an attempt must end before it. */
  deadlineAt: number;
  /** Added to the database's clock: tests fast-forward time with it. */
  clockOffsetMs?: number;
}

type Claimed = {
  id: string;
  event_id: string;
  sequence: number;
  type: string;
  data: unknown;
  created_at: string;
  attempts: number;
  subscription_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
};

export interface DeliveryReport {
  attempted: number;
  delivered: number;
  /** Subscriptions this run disabled (410, or failing for too long). */
  disabled: number;
}

/**
 * Deliver due messages until none is due or the deadline nears: claim a batch under a lease, send each, record each
 * attempt. Several deliverers may run at once: the claim skips rows another holds (FOR UPDATE SKIP LOCKED) or has
 * leased, so no message is ever sent by two at the same time; a deliverer that dies leaves its lease to expire, and
 * the message is sent again (at least once).
 */
export async function deliverDue(db: Db, options: DeliveryOptions): Promise<DeliveryReport> {
  const report: DeliveryReport = { attempted: 0, delivered: 0, disabled: 0 };
  // An attempt must be able to finish, and be recorded, before the deadline.
  while (Date.now() + options.timeoutMs * 2 < options.deadlineAt) {
    const token = randomUUID();
    const claimed = await claim(db, token, options);
    if (claimed.length === 0) break;
    const outcomes = await Promise.all(claimed.map((message) => attempt(db, message, token, options)));
    report.attempted += outcomes.length;
    report.delivered += outcomes.filter((outcome) => outcome.verdict === 'delivered').length;
    report.disabled += outcomes.filter((outcome) => outcome.disabled).length;
  }
  return report;
}

/** The database's now, moved by the test clock. */
const now = (options: DeliveryOptions): SQL => nowPlusMs(options.clockOffsetMs ?? 0);
const later = (options: DeliveryOptions, ms: number): SQL => nowPlusMs((options.clockOffsetMs ?? 0) + ms);

/** A lease outlives the attempt it covers by a wide margin, so it never expires while its deliverer still sends. */
const leaseMs = (options: DeliveryOptions) => options.timeoutMs * 3 + 10_000;

async function claim(db: Db, token: string, options: DeliveryOptions): Promise<Claimed[]> {
  const m = webhookMessages;
  const s = webhookSubscriptions;
  const { rows } = await db.execute<Claimed>(sql`
    with due as (
      -- One join: the row that admits the message (enabled, not paused) also gives its endpoint and secrets.
      select ${m.id} as id, ${s.url} as url, ${s.secret} as secret,
        case when ${s.previousSecretExpiresAt} > ${now(options)} then ${s.previousSecret} end as previous_secret
      from ${m} join ${s} on ${s.id} = ${m.subscriptionId}
      where ${m.status} = 'PENDING' and ${m.nextAttemptAt} <= ${now(options)}
        and (${m.leaseUntil} is null or ${m.leaseUntil} <= ${now(options)})
        and ${s.enabled} and (${s.pausedUntil} is null or ${s.pausedUntil} <= ${now(options)})
      order by ${m.nextAttemptAt}
      limit ${options.batch}
      for update of ${m} skip locked
    )
    update ${m} set ${columnNames(m.leaseUntil)} = ${later(options, leaseMs(options))}, ${columnNames(m.leaseToken)} = ${token}
    from due
    where ${m.id} = due.id
    returning ${m.id} as id, ${m.eventId} as event_id, ${m.sequence} as sequence, ${m.type} as type, ${m.data} as data,
      to_char(${m.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at, ${m.attempts} as attempts,
      ${m.subscriptionId} as subscription_id, due.url, due.secret, due.previous_secret`);
  return rows;
}

/** The message as sent: the same bytes at every attempt. */
function messageBody(message: Pick<Claimed, 'type' | 'created_at' | 'event_id' | 'sequence' | 'data'>): string {
  return JSON.stringify({
    type: message.type,
    timestamp: message.created_at,
    eventId: message.event_id,
    sequence: Number(message.sequence),
    data: message.data,
  });
}

/** The `webhook-id`: the message's id, stable across retries and replays. */
const webhookId = (messageId: string) => `msg_${messageId}`;

type Verdict = 'delivered' | 'retry' | 'failed' | 'gone';

async function attempt(db: Db, message: Claimed, token: string, options: DeliveryOptions): Promise<{ verdict: Verdict; disabled: boolean }> {
  const id = webhookId(message.id);
  // The real time of sending (receivers compare it with their clock), whatever the test clock says.
  const timestamp = Math.floor(Date.now() / 1000);
  const body = messageBody(message);
  const secrets = [message.secret, ...(message.previous_secret ? [message.previous_secret] : [])];
  const outcome = await send(
    new URL(message.url),
    {
      'content-type': 'application/json',
      'user-agent': 'lockstep-webhooks/1',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, { id, timestamp, body }),
    },
    body,
    options,
  );
  const verdict = judge(outcome, message.attempts + 1, options);
  // Ids, status and timing only: never the payload, the URL's query or a secret.
  logger.info('webhook attempt', {
    messageId: message.id,
    subscriptionId: message.subscription_id,
    attempt: message.attempts + 1,
    status: outcome.statusCode,
    error: outcome.error,
    latencyMs: outcome.latencyMs,
    verdict,
  });
  return { verdict, disabled: await record(db, { message, token, outcome, verdict, options }) };
}

/** Only 2xx delivers; 410 means the endpoint is gone for good; the last scheduled attempt's failure is final. */
function judge(outcome: SendOutcome, attemptNumber: number, options: DeliveryOptions): Verdict {
  const status = outcome.statusCode;
  if (status !== undefined && status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  return attemptNumber >= options.schedule.length ? 'failed' : 'retry';
}

/** 429, 502 and 504 ask the sender to slow down: the endpoint gets nothing before Retry-After (or the next delay). */
const SLOW_DOWN = new Set([429, 502, 504]);

/** ±10% of the delay, so a burst of failures does not retry in lockstep. */
const jittered = (ms: number) => ms * (0.9 + Math.random() * 0.2);

interface Recording {
  message: Claimed;
  token: string;
  outcome: SendOutcome;
  verdict: Verdict;
  options: DeliveryOptions;
}

/**
 * One statement per attempt: the attempt's row, the message's new state (only if this deliverer still holds its
 * lease), and the subscription's health: a success clears its failure streak, a failure starts one or, when it
 * has lasted longer than disableAfterMs, disables it; 410 disables it at once. A disabled subscription's pending
 * messages become FAILED, this one included (trigger webhook_subscriptions_fail_pending, drizzle/0018), ready for a
 * replay once it is enabled again. Returns whether this attempt disabled it.
 */
async function record(db: Db, { message, token, outcome, verdict, options }: Recording): Promise<boolean> {
  const m = webhookMessages;
  const s = webhookSubscriptions;
  const a = webhookAttempts;
  const attemptNumber = message.attempts + 1;
  const retryAfterMs = (outcome.retryAfterSeconds ?? 0) * 1000;
  const slowDown = outcome.statusCode !== undefined && SLOW_DOWN.has(outcome.statusCode);
  const delayMs = Math.max(jittered(options.schedule[attemptNumber] ?? 0), slowDown ? retryAfterMs : 0);
  const status = { delivered: 'DELIVERED', retry: 'PENDING', failed: 'FAILED', gone: 'FAILED' }[verdict];
  const failing = sql`coalesce(${s.failingSince}, ${now(options)})`;
  const disableReason =
    verdict === 'gone'
      ? sql`${'The endpoint answered 410 Gone'}::text`
      : sql`case when ${failing} <= ${later(options, -options.disableAfterMs)} then 'Every attempt failed since ' || to_char(${failing} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') end`;
  const health =
    verdict === 'delivered'
      ? sql`${columnNames(s.failingSince)} = null`
      : sql`${columnNames(s.failingSince)} = ${failing},
          ${columnNames(s.disabledReason)} = case when ${s.enabled} then coalesce(${disableReason}, ${s.disabledReason}) else ${s.disabledReason} end,
          ${columnNames(s.disabledAt)} = case when ${s.enabled} and ${disableReason} is not null then ${now(options)} else ${s.disabledAt} end,
          ${columnNames(s.enabled)} = ${s.enabled} and ${disableReason} is null
          ${slowDown ? sql`, ${columnNames(s.pausedUntil)} = ${later(options, delayMs)}` : sql``}`;
  const { rows } = await db.execute<{ disabled: boolean }>(sql`
    with attempt as (
      insert into ${a} (${columnNames(a.messageId, a.subscriptionId, a.attemptedAt, a.statusCode, a.latencyMs, a.error, a.responseBody)})
      values (${message.id}, ${message.subscription_id}, ${now(options)}, ${outcome.statusCode ?? null}::int, ${outcome.latencyMs},
        ${outcome.error ?? null}::text, ${outcome.responseBody ?? null}::text)
    ),
    -- The subscription as it is once this attempt holds its row (the batch's attempts run at once): only the
    -- attempt that finds it enabled can disable it.
    was as (select ${s.enabled} as enabled from ${s} where ${s.id} = ${message.subscription_id} for update),
    subscription as (
      update ${s} set ${health} from was where ${s.id} = ${message.subscription_id}
      returning ${s.enabled} as enabled, was.enabled and not ${s.enabled} as disabled_now
    ),
    message as (
      -- Not retried once the subscription is disabled (by this attempt or one of its batch that got the row first).
      update ${m} set ${columnNames(m.status)} = case when (select enabled from subscription) then ${status} else 'FAILED' end::${sql.identifier(webhookMessageStatusEnum.enumName)},
        ${columnNames(m.attempts)} = ${m.attempts} + 1,
        ${columnNames(m.nextAttemptAt)} = ${later(options, delayMs)},
        ${columnNames(m.deliveredAt)} = ${verdict === 'delivered' ? now(options) : sql`null`},
        ${columnNames(m.leaseUntil)} = null, ${columnNames(m.leaseToken)} = null
      where ${m.id} = ${message.id} and ${m.leaseToken} = ${token}
    )
    select coalesce((select disabled_now from subscription), false) as disabled`);
  return rows[0]?.disabled === true;
}

/** The deliverer's settings from the environment, working until `deadlineAt`. */
export function configuredDelivery(cfg: WebhookConfig, deadlineAt: number): DeliveryOptions {
  return {
    schedule: RETRY_SCHEDULE_MS,
    timeoutMs: cfg.WEBHOOK_ATTEMPT_TIMEOUT_MS,
    allowLoopback: cfg.WEBHOOK_ALLOW_LOOPBACK,
    disableAfterMs: cfg.WEBHOOK_DISABLE_AFTER_HOURS * 3600e3,
    batch: DELIVERY_BATCH,
    deadlineAt,
  };
}

/** Messages one deliverer sends at once. */
const DELIVERY_BATCH = 16;
