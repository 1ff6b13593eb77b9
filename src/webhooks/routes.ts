import { defineRoute } from '../contract/route';
import {
  CreatedWebhook,
  CreateWebhook,
  Replayed,
  ReplayWebhook,
  RotatedSecret,
  RotateSecret,
  UpdateWebhook,
  WebhookAttemptPage,
  WebhookListQuery,
  WebhookMessagePage,
  WebhookPage,
  WebhookParams,
  WebhookView,
} from './contract';

const SCOPE =
  'A subscription hears the events its creator organizes, or, made with teamSlug, the events of that team, which its OWNER and ADMINs manage together.';

export const createWebhookRoute = defineRoute({
  operationId: 'createWebhook',
  method: 'POST',
  path: '/webhooks',
  summary: 'Subscribe an endpoint to event and registration changes (organizer)',
  description: `${SCOPE} The answer carries the signing secret (Standard Webhooks, whsec_…) this once; no later answer does (a keyed retry replays the first answer, sealed under its key). Messages are signed, retried for about three days and carry a per-event sequence number: see docs/webhooks.md.`,
  auth: 'required',
  body: CreateWebhook,
  responses: { 201: CreatedWebhook },
  errors: ['forbidden', 'not_found'],
});

export const listWebhooksRoute = defineRoute({
  operationId: 'listWebhooks',
  method: 'GET',
  path: '/webhooks',
  summary: 'The subscriptions the caller manages, oldest first',
  auth: 'required',
  query: WebhookListQuery,
  responses: { 200: WebhookPage },
});

export const getWebhookRoute = defineRoute({
  operationId: 'getWebhook',
  method: 'GET',
  path: '/webhooks/{id}',
  summary: 'One subscription, with its health (disabled and why, failing since)',
  auth: 'required',
  params: WebhookParams,
  responses: { 200: WebhookView },
  errors: ['not_found'],
});

export const updateWebhookRoute = defineRoute({
  operationId: 'updateWebhook',
  method: 'PATCH',
  path: '/webhooks/{id}',
  summary: 'Change a subscription, or disable / re-enable it',
  description:
    'enabled: true re-enables a subscription disabled by its failures or a 410; what it missed comes back by a replay. enabled: false stops sending; its pending messages become FAILED (replayable).',
  auth: 'required',
  params: WebhookParams,
  body: UpdateWebhook,
  responses: { 200: WebhookView },
  errors: ['not_found'],
});

export const deleteWebhookRoute = defineRoute({
  operationId: 'deleteWebhook',
  method: 'DELETE',
  path: '/webhooks/{id}',
  summary: 'Delete a subscription and its messages',
  auth: 'required',
  params: WebhookParams,
  responses: { 204: null },
  errors: ['not_found'],
});

export const rotateWebhookSecretRoute = defineRoute({
  operationId: 'rotateWebhookSecret',
  method: 'POST',
  path: '/webhooks/{id}/rotate-secret',
  summary: 'A new signing secret; the previous one keeps signing for a while',
  description:
    'Until previousSecretExpiresAt every message carries two signatures (webhook-signature: "v1,<new> v1,<old>"), so receivers can switch secrets without losing a message.',
  auth: 'required',
  params: WebhookParams,
  body: RotateSecret,
  responses: { 200: RotatedSecret },
  errors: ['not_found'],
});

export const replayWebhookRoute = defineRoute({
  operationId: 'replayWebhook',
  method: 'POST',
  path: '/webhooks/{id}/replay',
  summary: 'Send a message, or every message of a time range, again',
  description:
    'Each replayed message starts a fresh retry schedule with its original webhook-id (so a receiver that already has it can drop it). Messages still pending are left as they are.',
  auth: 'required',
  params: WebhookParams,
  body: ReplayWebhook,
  responses: { 202: Replayed },
  errors: ['not_found'],
});

export const listWebhookMessagesRoute = defineRoute({
  operationId: 'listWebhookMessages',
  method: 'GET',
  path: '/webhooks/{id}/messages',
  summary: "A subscription's messages and their delivery state, oldest first",
  auth: 'required',
  params: WebhookParams,
  query: WebhookListQuery,
  responses: { 200: WebhookMessagePage },
  errors: ['not_found'],
});

export const listWebhookAttemptsRoute = defineRoute({
  operationId: 'listWebhookAttempts',
  method: 'GET',
  path: '/webhooks/{id}/attempts',
  summary: 'Every delivery attempt: time, status, latency, reason',
  auth: 'required',
  params: WebhookParams,
  query: WebhookListQuery,
  responses: { 200: WebhookAttemptPage },
  errors: ['not_found'],
});
