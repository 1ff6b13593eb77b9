import * as z from 'zod';
import { isReservedSlug, SLUG_MAX_LENGTH, SLUG_PATTERN } from './slug';

/** An explicit slug is taken as given or refused, never altered. */
export const ExplicitSlug = z
  .string()
  .max(SLUG_MAX_LENGTH)
  .regex(SLUG_PATTERN, 'Use lower-case letters, digits and single dashes')
  .refine((slug) => !isReservedSlug(slug), { message: 'This slug is a reserved word' });

export const SlugParam = z.string().min(1).max(200);
