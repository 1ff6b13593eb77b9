import * as z from 'zod/mini';
import { isReservedSlug, SLUG_MAX_LENGTH, SLUG_PATTERN } from './slug';

/** An explicit slug is taken as given or refused, never altered. */
export const ExplicitSlug = z
  .string()
  .check(
    z.maxLength(SLUG_MAX_LENGTH),
    z.regex(SLUG_PATTERN, 'Use lower-case letters, digits and single dashes'),
    z.refine((slug) => !isReservedSlug(slug), { message: 'This slug is a reserved word' }),
  );

export const SlugParam = z.string().check(z.minLength(1), z.maxLength(200));
