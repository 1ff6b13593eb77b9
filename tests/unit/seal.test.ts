import { describe, expect, it } from 'vitest';
import { keyMaterial, seal, unseal } from '../../src/idempotency/seal';

describe('sealed responses', () => {
  const { secret } = keyMaterial({ key: 'a-key', scope: 'anonymous' });
  const body = JSON.stringify({ cancelToken: 'secret-token', name: 'Zoë 🎟' });

  it('round-trip with the key, and never carry the text in the clear', () => {
    const stored = seal(secret, body);
    expect(unseal(secret, stored)).toBe(body);
    expect(stored).not.toContain('secret-token');
    expect(Buffer.from(stored, 'base64').toString('utf8')).not.toContain('secret-token');
    expect(seal(secret, body)).not.toBe(stored); // a fresh IV each time
  });

  it('cannot be read with another key or another scope, nor altered unnoticed', () => {
    const stored = seal(secret, body);
    expect(() => unseal(keyMaterial({ key: 'other', scope: 'anonymous' }).secret, stored)).toThrow();
    expect(() => unseal(keyMaterial({ key: 'a-key', scope: 'sub:someone' }).secret, stored)).toThrow();
    const tampered = Buffer.from(stored, 'base64');
    tampered[tampered.length - 1]! ^= 1;
    expect(() => unseal(secret, tampered.toString('base64'))).toThrow();
  });

  it('store a hash of the key, never the key', () => {
    const { keyHash } = keyMaterial({ key: 'a-key', scope: 'anonymous' });
    expect(keyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(keyHash).not.toContain('a-key');
  });
});
