import { describe, expect, it } from 'vitest';
import {
  isReservedSlug,
  MAX_NUMBER_DIGITS,
  numberedSlug,
  numberStem,
  randomSlug,
  secretSlug,
  slugify,
  SLUG_MAX_LENGTH,
  SLUG_PATTERN,
} from '../../src/slug/slug';

describe('slugify', () => {
  it.each([
    ['Hello World', 'hello-world'],
    ['  Crème Brûlée & Co!  ', 'creme-brulee-and-co'],
    ['Straße in Łódź', 'strasse-in-lodz'],
    ['Ærø --- Øre', 'aero-ore'],
    ['ﬁnal ①', 'final-1'],
    ['a__b..c', 'a-b-c'],
    ['日本語', ''],
    ['!!!', ''],
    ['', ''],
  ])('%j → %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it('caps at 60 characters without a trailing dash', () => {
    const slug = slugify(`${'a'.repeat(59)} bbbb`);
    expect(slug).toBe('a'.repeat(59));
    expect(slugify('word '.repeat(40)).length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
    expect(slugify('word '.repeat(40))).toMatch(SLUG_PATTERN);
  });

  it('numbered forms share one stem per base and stay within the cap for any counter value', () => {
    const stem = numberStem('x'.repeat(60));
    expect(numberStem(`${'x'.repeat(58)}yy`)).toBe(stem);
    expect(numberedSlug(stem, 10n ** BigInt(MAX_NUMBER_DIGITS) - 1n).length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
    expect(numberedSlug(numberStem('name'), 2)).toBe('name-2');
    expect(numberStem(`${'a'.repeat(40)}-bbb`)).toMatch(SLUG_PATTERN);
  });

  it('random slugs are valid and differ', () => {
    const slugs = new Set(Array.from({ length: 1000 }, randomSlug));
    expect(slugs.size).toBe(1000);
    for (const slug of slugs) expect(slug).toMatch(/^[a-z0-9]{10}$/);
  });

  it('secret slugs carry 128 random bits as 32 hex characters, a valid slug', () => {
    const slugs = new Set(Array.from({ length: 1000 }, secretSlug));
    expect(slugs.size).toBe(1000);
    for (const slug of slugs) expect(slug).toMatch(/^[0-9a-f]{32}$/);
    expect([...slugs][0]).toMatch(SLUG_PATTERN);
  });

  it('knows reserved words', () => {
    for (const word of ['new', 'me', 'api', 'admin']) expect(isReservedSlug(word)).toBe(true);
    expect(isReservedSlug('newsletter')).toBe(false);
  });
});
