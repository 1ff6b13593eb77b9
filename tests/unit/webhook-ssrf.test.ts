import { describe, expect, it } from 'vitest';
import { retryAfter } from '../../src/webhooks/send';
import { endpointProblem, isPermittedAddress } from '../../src/webhooks/ssrf';

describe('webhook endpoints: public addresses only', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '255.255.255.255',
    '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1', 'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPermittedAddress(address, false)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isPermittedAddress(address, false)).toBe(true);
  });

  it('allows loopback, and only loopback, when development says so', () => {
    expect(isPermittedAddress('127.0.0.1', true)).toBe(true);
    expect(isPermittedAddress('::1', true)).toBe(true);
    expect(isPermittedAddress('10.0.0.1', true)).toBe(false);
  });

  it('wants https, unless development allows http', () => {
    expect(endpointProblem(new URL('http://example.com/hook'), false)).toBe('The endpoint must use https');
    expect(endpointProblem(new URL('http://127.0.0.1:9/hook'), true)).toBeUndefined();
    expect(endpointProblem(new URL('https://user:pw@example.com/'), false)).toMatch(/credentials/);
    expect(endpointProblem(new URL('https://[::ffff:a9fe:a9fe]/'), false)).toMatch(/public/);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfter('120')).toBe(120);
    expect(retryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThanOrEqual(59);
    expect(retryAfter('soon')).toBeUndefined();
  });
});
