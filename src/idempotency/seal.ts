import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * What the store keeps of a key: its SHA-256 (the key itself is never stored), and an AES-256 key derived from the
 * Idempotency-Key and its scope, so a stored response is readable only by whoever presents the key again.
 */
export function keyMaterial(request: { key: string; scope: string }): { keyHash: string; secret: Buffer } {
  return {
    keyHash: createHash('sha256').update(request.key).digest('hex'),
    secret: Buffer.from(hkdfSync('sha256', request.key, request.scope, 'lockstep idempotent response', 32)),
  };
}

/** AES-256-GCM with a fresh IV: base64 of IV (12 bytes), tag (16) and ciphertext. */
export function seal(secret: Buffer, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

/** The text `seal` sealed; throws when the secret is wrong or the stored value was altered. */
export function unseal(secret: Buffer, stored: string): string {
  const raw = Buffer.from(stored, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', secret, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}
