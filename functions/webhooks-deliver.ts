import type { Context } from 'aws-lambda';
import { databaseConfig, JOB_SECRETS, loadSecrets, webhookConfig } from '../src/config';
import { database } from '../src/db/client';
import { emitMetrics, METRIC } from '../src/metrics/metrics';
import { configuredDelivery, deliverDue, type DeliveryReport } from '../src/webhooks/delivery';

await loadSecrets(JOB_SECRETS); // In AWS the database URL is read from Secrets Manager, once per instance.
// Fail the cold start, not the first run, on bad configuration.
databaseConfig();
const cfg = webhookConfig();

/** Kept back from the function's deadline: the last attempt's record must be written before it. */
const MARGIN_MS = 2_000;

/**
 * Woken by an asynchronous invoke after a request wrote messages, and every minute by the schedule (the backstop
 * for a lost wake-up and for retries that come due): delivers what is due, then returns.
 */
export const handler = async (_event?: unknown, context?: Context): Promise<DeliveryReport> => {
  const remainingMs = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const report = await deliverDue(database(), configuredDelivery(cfg, Date.now() + remainingMs - MARGIN_MS));
  emitMetrics({
    [METRIC.webhookDeliveries]: report.delivered,
    [METRIC.webhookDeliveryFailures]: report.attempted - report.delivered,
    [METRIC.webhookSubscriptionsDisabled]: report.disabled,
  });
  return report;
};
