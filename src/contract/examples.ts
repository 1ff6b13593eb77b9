import * as z from 'zod/mini';
import type { $input } from 'zod/v4/core';

/**
 * The API reference's examples, one registry for every contract. Each domain fills it in its examples.ts, which only
 * the OpenAPI generator imports: no handler's bundle carries an example.
 */
const registry = z.registry<{ examples: $input[] }>();

/** Registers the examples of a schema, typed as its input (what a client sends, or what a response holds). */
export function examples<S extends z.ZodMiniType>(schema: S, ...values: [z.input<S>, ...z.input<S>[]]): void {
  registry.add(schema, { examples: values });
}

/** The first example of a schema, if it has one. */
export function exampleOf(schema: z.ZodMiniType | null | undefined): unknown {
  return schema ? registry.get(schema)?.examples[0] : undefined;
}
