import { examples } from '../contract/examples';
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

/** The Node Meetup organizer's badge printer, hearing confirmations and promotions. */
const webhook = {
  id: '0b6f2d3e-4a5c-4e7f-9a1b-2c3d4e5f6a7b',
  url: 'https://badges.example.com/lockstep',
  description: 'Badge printer',
  teamId: null,
  eventTypes: ['registration.confirmed' as const, 'registration.promoted' as const],
  eventIds: null,
  enabled: true,
  disabledReason: null,
  disabledAt: null,
  failingSince: null,
  previousSecretExpiresAt: null,
  createdAt: '2027-02-01T08:00:00.000Z',
  updatedAt: '2027-02-01T08:00:00.000Z',
};
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const message = {
  id: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
  type: 'registration.promoted' as const,
  eventId: '3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f',
  sequence: 42,
  status: 'DELIVERED' as const,
  attempts: 1,
  nextAttemptAt: null,
  deliveredAt: '2027-02-01T09:12:44.180Z',
  createdAt: '2027-02-01T09:12:44.120Z',
};

examples(CreateWebhook, { url: webhook.url, description: 'Badge printer', eventTypes: webhook.eventTypes });
examples(UpdateWebhook, { enabled: true });
examples(WebhookView, webhook);
examples(CreatedWebhook, { ...webhook, secret });
examples(WebhookPage, { items: [webhook], nextCursor: null });
examples(WebhookParams, { id: webhook.id });
examples(WebhookListQuery, { limit: 20 });
examples(RotateSecret, { previousSecretTtlSeconds: 86400 });
examples(RotatedSecret, { secret, previousSecretExpiresAt: '2027-02-02T08:00:00.000Z' });
examples(ReplayWebhook, { since: '2027-02-01T00:00:00Z', until: '2027-02-02T00:00:00Z' }, { messageId: message.id });
examples(Replayed, { replayed: 12 });
examples(WebhookMessagePage, { items: [message], nextCursor: null });
examples(WebhookAttemptPage, {
  items: [{ messageId: message.id, attemptedAt: '2027-02-01T09:12:44.130Z', statusCode: 204, latencyMs: 48, error: null, responseBody: '' }],
  nextCursor: null,
});
