import { randomBytes } from 'node:crypto';

export const SLUG_MAX_LENGTH = 60;
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Path segments and words that would be confusing or dangerous as a resource's URL. */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  'new', 'me', 'api', 'admin', 'administrator', 'root', 'system', 'settings', 'edit', 'delete', 'create',
  'health', 'stats', 'members', 'registrations', 'transfer', 'default', 'links', 'login', 'logout', 'signin',
  'signup', 'register', 'auth', 'oauth', 'static', 'assets', 'public', 'private', 'www', 'help', 'support',
  'about', 'docs', 'openapi', 'null', 'undefined', 'true', 'false', 'events', 'teams', 'cards', 'users',
]);

/** Letters NFKD does not decompose into ASCII. */
const TRANSLITERATIONS: Record<string, string> = {
  ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', þ: 'th', ł: 'l', ı: 'i', ħ: 'h', ŋ: 'ng', ĸ: 'k',
  '&': ' and ', '@': ' at ',
};

/** `Crème Brûlée & Co!` → `creme-brulee-and-co`; '' when nothing usable is left. */
export function slugify(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[ßæœøđðþłıħŋĸ&@]/g, (ch) => TRANSLITERATIONS[ch] ?? '');
  const dashed = ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return truncateSlug(dashed, SLUG_MAX_LENGTH);
}

/** Cut to `max` characters without leaving a trailing dash. */
export function truncateSlug(slug: string, max: number): string {
  return slug.length <= max ? slug : slug.slice(0, max).replace(/-+$/, '');
}

/** Digits a slug counter may reach: a bigint, counted only while it is exact. */
export const MAX_NUMBER_DIGITS = 18;

/**
 * The part of a base its numbered forms share: cut once so that `stem-n` fits the cap for every n the counter can
 * reach. Every numbered form of a base (and of any longer base cut to the same stem) is `stem-<digits>`, which is
 * what the counter counts.
 */
export function numberStem(base: string): string {
  return truncateSlug(base, SLUG_MAX_LENGTH - 1 - MAX_NUMBER_DIGITS);
}

export function numberedSlug(stem: string, n: bigint | number): string {
  return `${stem}-${n}`;
}

/** Ten characters of [a-z0-9] (≈51 bits) for names that yield no slug. */
export function randomSlug(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(10), (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * 32 hex characters (128 random bits) for what only those given the link may read: as hard to guess as a UUID v4
 * key, and a valid slug (lower case, no dash) that no derived slug of 32 characters is told apart from.
 */
export function secretSlug(): string {
  return randomBytes(16).toString('hex');
}

export function isReservedSlug(slug: string): boolean {
  return RESERVED_SLUGS.has(slug);
}
