import { AsyncLocalStorage } from 'node:async_hooks';
import { webhookConfig } from '../config';
import { describeError } from '../db/describe-error';
import { logger } from '../logger';

/**
 * Whether the work running in this scope wrote outbox messages: the HTTP layer wakes the deliverer after such a
 * request's answer is decided (its transaction has committed or rolled back by then; a wake for a rollback only
 * finds nothing due). Outside a scope (imports, scripts) nothing is noted: the schedule delivers their messages.
 */
const scope = new AsyncLocalStorage<{ written: boolean }>();

/** Called by the outbox when a statement wrote at least one message. */
export function noteMessagesWritten(): void {
  const state = scope.getStore();
  if (state) state.written = true;
}

/** Runs `work`, and reports whether it wrote outbox messages. */
export async function trackMessages<T>(work: () => Promise<T>): Promise<{ result: T; written: boolean }> {
  const state = { written: false };
  const result = await scope.run(state, work);
  return { result, written: state.written };
}

let lambda: Promise<{ wake: () => Promise<void> }> | undefined;

/**
 * Wake the delivery function (an asynchronous invoke: it returns once Lambda has queued the event), after the
 * answer of a request that wrote messages is decided. Best effort, bounded by `timeoutMs`: a lost wake-up delays the
 * messages until the next scheduled run, about a minute. Loaded on first use, so other functions never load the SDK.
 */
export async function wakeDelivery(timeoutMs: number): Promise<void> {
  const cfg = webhookConfig();
  const functionName = cfg.WEBHOOK_DELIVERY_FUNCTION;
  if (functionName === undefined) return;
  try {
    lambda ??= import('@aws-sdk/client-lambda').then(({ LambdaClient, InvokeCommand }) => {
      const client = new LambdaClient({ endpoint: cfg.WEBHOOK_LAMBDA_ENDPOINT, maxAttempts: 1 });
      const command = new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event' });
      return { wake: async () => void (await client.send(command, { abortSignal: AbortSignal.timeout(timeoutMs) })) };
    });
    await (await lambda).wake();
  } catch (err) {
    logger.warn('webhook delivery wake-up failed; the schedule will deliver', { error: describeError(err) });
  }
}
