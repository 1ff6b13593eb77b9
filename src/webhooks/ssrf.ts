import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Server-side request forgery: an endpoint may only ever be reached at a public address. The check runs where the
 * socket gets its address (net.connect's `lookup`), so the address checked is the address connected to: a name
 * that resolves to a public address when the subscription is made and to 169.254.169.254 at delivery (DNS
 * rebinding) is refused at delivery. Address ranges come from ipaddr.js: only its `unicast` (public) range passes,
 * and loopback when development allows it (WEBHOOK_ALLOW_LOOPBACK). IPv4-mapped IPv6 is judged as IPv4.
 */
export function isPermittedAddress(address: string, allowLoopback: boolean): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  const range = ip.range();
  return range === 'unicast' || (allowLoopback && range === 'loopback');
}

/** The connection went to, or would have gone to, an address that is not public. */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
  readonly code = 'blocked_address';
}

/** net.connect's `lookup`: resolve, and hand on only permitted addresses (an error when none is). */
export function guardedLookup(allowLoopback: boolean): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const permitted = addresses.filter((a) => isPermittedAddress(a.address, allowLoopback));
      const [first] = permitted;
      if (first === undefined) return callback(new BlockedAddressError(`${hostname} resolves to no public address`), []);
      if (options.all) return callback(null, permitted);
      return callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/**
 * Why an endpoint URL cannot be subscribed, or undefined: https only (http too when loopback is allowed), no
 * credentials, and an address literal must be public. A name is judged at each connection (guardedLookup).
 */
export function endpointProblem(url: URL, allowLoopback: boolean): string | undefined {
  if (url.protocol !== 'https:' && !(allowLoopback && url.protocol === 'http:')) return 'The endpoint must use https';
  if (url.username !== '' || url.password !== '') return 'The endpoint URL may not carry credentials';
  const host = literalHost(url);
  if (isIP(host) !== 0 && !isPermittedAddress(host, allowLoopback)) return 'The endpoint address must be public';
  return undefined;
}

/** The URL's host without IPv6 brackets. */
const literalHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');
