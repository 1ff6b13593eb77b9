import { describe, expect, it, vi } from 'vitest';
import { RequestBody } from '../../src/http/body';
import { fingerprint, parseIdempotencyKey } from '../../src/http/idempotency';
import { LockstepError } from '../../src/errors';

describe('Idempotency-Key header', () => {
  it('accepts 1 to 255 printable ASCII characters', () => {
    expect(parseIdempotencyKey('a')).toBe('a');
    expect(parseIdempotencyKey('~'.repeat(255))).toBe('~'.repeat(255));
  });

  it.each([['empty', ''], ['256 characters', 'k'.repeat(256)], ['non-ASCII', 'clé'], ['a control character', 'a\tb']])(
    'refuses %s with invalid_idempotency_key',
    (_, header) => {
      expect(() => parseIdempotencyKey(header)).toThrow(LockstepError);
      try {
        parseIdempotencyKey(header);
      } catch (err) {
        expect((err as LockstepError).code).toBe('invalid_idempotency_key');
      }
    },
  );
});

describe('fingerprint', () => {
  const body = (text: string) => new RequestBody(text);
  const base = fingerprint('POST', '/events', {}, body('{"name":"A","capacity":5}'));

  it('ignores key order and whitespace in a JSON body, and the order of query parameters', () => {
    expect(fingerprint('POST', '/events', {}, body('{ "capacity": 5,\n "name": "A" }'))).toBe(base);
    expect(fingerprint('DELETE', '/x', { a: '1', b: '2' }, undefined)).toBe(fingerprint('DELETE', '/x', { b: '2', a: '1' }, undefined));
  });

  it('tells apart method, path, query and body', () => {
    expect(fingerprint('PATCH', '/events', {}, body('{"name":"A","capacity":5}'))).not.toBe(base);
    expect(fingerprint('POST', '/teams', {}, body('{"name":"A","capacity":5}'))).not.toBe(base);
    expect(fingerprint('POST', '/events', { token: 't' }, body('{"name":"A","capacity":5}'))).not.toBe(base);
    expect(fingerprint('POST', '/events', {}, body('{"name":"A","capacity":6}'))).not.toBe(base);
  });

  it('takes a body that is not JSON as its own text', () => {
    expect(fingerprint('POST', '/events', {}, body('not json'))).toBe(fingerprint('POST', '/events', {}, body('not json')));
    expect(fingerprint('POST', '/events', {}, body('not json'))).not.toBe(fingerprint('POST', '/events', {}, body('not  json')));
  });

  it('reuses the value the route parsed: a body is JSON-parsed once', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const sent = body('{"name":"A","capacity":5}');
      sent.json();
      expect(fingerprint('POST', '/events', {}, sent)).toBe(base);
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });
});
