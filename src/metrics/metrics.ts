import { metricsConfig } from '../config';

/**
 * Every metric lockstep emits, by name: the alarms in serverless.yml name the same. Counts unless said otherwise.
 * Breakdowns (the dimension after Service) in brackets.
 */
export const METRIC = {
  /** New registrations, by the outcome of the one statement. */
  registrationsConfirmed: 'RegistrationsConfirmed',
  registrationsWaitlisted: 'RegistrationsWaitlisted',
  /** 4xx answers [Code]. */
  refusals: 'Refusals',
  /** 5xx answers [Code]: `database_unavailable` is the 503 of a database that did not answer in time. */
  failures: 'Failures',
  /** 503s answered by the handler's own backstop because the database could not even report its deadline. */
  deadlineBackstopAnswers: 'DeadlineBackstopAnswers',
  /** Keyed writes answered from the stored response. */
  idempotentReplays: 'IdempotentReplays',
  /** Rows of finished import runs [Outcome: created, unchanged, waitlisted, rejected]. */
  importRows: 'ImportRows',
  importRunsFailed: 'ImportRunsFailed',
  /** Events whose counters disagreed with their rows, found by the maintenance job. */
  counterDriftFound: 'CounterDriftFound',
  webhookDeliveries: 'WebhookDeliveries',
  webhookDeliveryFailures: 'WebhookDeliveryFailures',
  webhookSubscriptionsDisabled: 'WebhookSubscriptionsDisabled',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The dimension every metric carries, so alarms can name one series per metric. */
const SERVICE_DIMENSION = { Service: 'lockstep' } as const;

/**
 * Writes `values` as one CloudWatch Embedded Metric Format line on stdout: CloudWatch Logs turns it into metrics,
 * with no agent and no call from the function. Each metric is recorded per Service and, with `breakdown`, per
 * Service and that dimension as well (`{ Code: 'event_full' }`). Off (nothing written) unless METRICS_NAMESPACE is
 * set, as serverless.yml does in AWS. Never pass a secret, a row's content or anything a client chose freely as a
 * dimension value: they are stored as is and each value is a new metric.
 */
export function emitMetrics(values: Partial<Record<MetricName, number>>, breakdown: Record<string, string> = {}): void {
  const namespace = metricsConfig().METRICS_NAMESPACE;
  const metrics = Object.entries(values).filter(([, value]) => value !== undefined);
  if (namespace === undefined || metrics.length === 0) return;
  const base = Object.keys(SERVICE_DIMENSION);
  const extra = Object.keys(breakdown);
  const entry = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: extra.length === 0 ? [base] : [base, [...base, ...extra]],
          Metrics: metrics.map(([name]) => ({ Name: name, Unit: 'Count' })),
        },
      ],
    },
    ...SERVICE_DIMENSION,
    ...breakdown,
    ...Object.fromEntries(metrics),
  };
  process.stdout.write(`${JSON.stringify(entry)}\n`);
}
