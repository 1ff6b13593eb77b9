import * as z from 'zod/mini';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';
import { WEBHOOK_EVENT_TYPES } from './schema';

const EventType = z.enum(WEBHOOK_EVENT_TYPES);
const EventTypes = z.array(EventType).check(z.minLength(1), z.maxLength(WEBHOOK_EVENT_TYPES.length));
const EventIds = z.array(z.uuid()).check(z.minLength(1), z.maxLength(100));
const Endpoint = z.url({ protocol: /^https?$/ }).check(z.maxLength(2048)).register(z.globalRegistry, {
  description: 'https only (http and loopback only where WEBHOOK_ALLOW_LOOPBACK is set, for development); it must reach a public address',
});
const Description = z.string().check(z.maxLength(500));

export const CreateWebhook = z
  .strictObject({
    url: Endpoint,
    description: z.optional(z.nullable(Description)),
    eventTypes: z.optional(z.nullable(EventTypes)).register(z.globalRegistry, { description: 'Absent or null: every type' }),
    eventIds: z.optional(z.nullable(EventIds)).register(z.globalRegistry, { description: 'Absent or null: every event in scope' }),
    teamSlug: z.optional(SlugParam).register(z.globalRegistry, {
      description: "The team's events (the caller must be its OWNER or an ADMIN); absent: the events the caller organizes",
    }),
  })
  .register(z.globalRegistry, { id: 'CreateWebhook' });

export const UpdateWebhook = z
  .strictObject({
    url: z.optional(Endpoint),
    description: z.optional(z.nullable(Description)),
    eventTypes: z.optional(z.nullable(EventTypes)),
    eventIds: z.optional(z.nullable(EventIds)),
    enabled: z.optional(z.boolean()).register(z.globalRegistry, {
      description: 'true re-enables a disabled subscription (clearing its reason); missed messages come back by a replay',
    }),
  })
  .register(z.globalRegistry, { id: 'UpdateWebhook' });

export const WebhookView = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.nullable(z.string()),
    teamId: z.nullable(z.uuid()),
    eventTypes: z.nullable(z.array(EventType)),
    eventIds: z.nullable(z.array(z.uuid())),
    enabled: z.boolean(),
    disabledReason: z.nullable(z.string()),
    disabledAt: z.nullable(z.iso.datetime()),
    failingSince: z.nullable(z.iso.datetime()),
    previousSecretExpiresAt: z.nullable(z.iso.datetime()).register(z.globalRegistry, {
      description: 'During a rotation: until then the previous secret signs too',
    }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'Webhook' });

const Secret = z.string().register(z.globalRegistry, { description: 'whsec_<base64>: shown once, never again' });

export const CreatedWebhook = z.extend(WebhookView, { secret: Secret }).register(z.globalRegistry, { id: 'CreatedWebhook' });

export const WebhookPage = page(WebhookView).register(z.globalRegistry, { id: 'WebhookPage' });

export const WebhookParams = z.object({ id: z.uuid() });

export const RotateSecret = z
  .strictObject({
    previousSecretTtlSeconds: z._default(z.int().check(z.minimum(0), z.maximum(7 * 24 * 3600)), 24 * 3600),
  })
  .register(z.globalRegistry, { id: 'RotateWebhookSecret' });

export const RotatedSecret = z
  .object({ secret: Secret, previousSecretExpiresAt: z.iso.datetime() })
  .register(z.globalRegistry, { id: 'RotatedWebhookSecret' });

const Moment = z.iso.datetime({ offset: true });

export const ReplayWebhook = z
  .strictObject({
    messageId: z.optional(z.uuid()),
    since: z.optional(Moment),
    until: z.optional(Moment),
  })
  .check(
    z.refine((replay) => (replay.messageId === undefined) !== (replay.since === undefined), {
      message: 'Send either messageId, or since (and optionally until)',
      path: ['messageId'],
    }),
    z.refine((replay) => replay.until === undefined || replay.since !== undefined, { message: 'until needs since', path: ['until'] }),
  )
  .register(z.globalRegistry, {
    id: 'ReplayWebhook',
    description: 'One message (its id: webhook-id without msg_), or every message written in [since, until)',
  });

export const Replayed = z.object({ replayed: z.int() }).register(z.globalRegistry, { id: 'ReplayedWebhooks' });

export const WebhookMessageView = z
  .object({
    id: z.uuid(),
    type: EventType,
    eventId: z.uuid(),
    sequence: z.int(),
    status: z.enum(['PENDING', 'DELIVERED', 'FAILED']),
    attempts: z.int(),
    nextAttemptAt: z.nullable(z.iso.datetime()),
    deliveredAt: z.nullable(z.iso.datetime()),
    createdAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'WebhookMessage' });

export const WebhookMessagePage = page(WebhookMessageView).register(z.globalRegistry, { id: 'WebhookMessagePage' });

export const WebhookAttemptView = z
  .object({
    messageId: z.uuid(),
    attemptedAt: z.iso.datetime(),
    statusCode: z.nullable(z.int()),
    latencyMs: z.int(),
    error: z.nullable(z.string()),
    responseBody: z.nullable(z.string()),
  })
  .register(z.globalRegistry, { id: 'WebhookAttempt' });

export const WebhookAttemptPage = page(WebhookAttemptView).register(z.globalRegistry, { id: 'WebhookAttemptPage' });

export const WebhookListQuery = PageQuery;

export type CreateWebhook = z.output<typeof CreateWebhook>;
export type UpdateWebhook = z.output<typeof UpdateWebhook>;
export type WebhookView = z.output<typeof WebhookView>;
export type CreatedWebhook = z.output<typeof CreatedWebhook>;
export type ReplayWebhook = z.output<typeof ReplayWebhook>;
export type WebhookMessageView = z.output<typeof WebhookMessageView>;
export type WebhookAttemptView = z.output<typeof WebhookAttemptView>;
