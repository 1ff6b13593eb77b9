/**
 * Webhook delivery under `serverless offline` (npm run dev, the e2e tests): the handlers wake the deliverer through
 * offline's Lambda API, as they do through AWS's, and a timer stands in for the deployed one-minute schedule.
 */

/** What serverless.yml names the delivery function (service lockstep, stage dev). */
const DELIVERY_FUNCTION = 'lockstep-dev-deliverWebhooks';
const BACKSTOP_MS = 60_000;

/** Environment for offline: its Lambda API as the wake-up's endpoint, and the placeholder credentials the SDK wants. */
export function devWebhookEnv(lambdaPort: number): Record<string, string> {
  return {
    WEBHOOK_LAMBDA_ENDPOINT: `http://127.0.0.1:${lambdaPort}`,
    AWS_REGION: process.env.AWS_REGION || 'eu-central-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID || 'offline',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY || 'offline',
  };
}

/** Invoke the deliverer every minute (asynchronously, as EventBridge does); returns the stop function. */
export function startDeliveryBackstop(lambdaPort: number): () => void {
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${DELIVERY_FUNCTION}/invocations`, {
      method: 'POST',
      headers: { 'x-amz-invocation-type': 'Event' },
      body: '{}',
    }).catch(() => undefined); // offline restarting: the next tick tries again
  }, BACKSTOP_MS);
  return () => clearInterval(timer);
}
