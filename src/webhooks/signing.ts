import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signatures: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the base64 bytes
 * after `whsec_`. Signed here with node:crypto (a native HMAC, nothing added to the deliverer's bundle); the tests
 * verify with the `standardwebhooks` library, an implementation independent of this one.
 */
const PREFIX = 'whsec_';

/** A new secret: 24 random bytes, in Standard Webhooks' `whsec_<base64>` form. */
export function newSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** The `webhook-signature` header: one `v1,<sig>` per secret (two during a rotation), space-separated. */
export function signatureHeader(secrets: readonly string[], message: { id: string; timestamp: number; body: string }): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
      const mac = createHmac('sha256', key).update(`${message.id}.${message.timestamp}.${message.body}`).digest('base64');
      return `v1,${mac}`;
    })
    .join(' ');
}
