/** The largest request body the HTTP adapter reads (413 beyond). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Deeper JSON than any contract needs; refused before a schema (or anything recursive) walks it. */
export const MAX_INPUT_DEPTH = 32;

const NUL_MESSAGE = 'Text must not contain NUL (\\u0000) characters';

export type InputProblem = { path: string[]; message: string };

/**
 * One iterative walk over parsed input, bounded in depth, so no input can exhaust the stack: the first string or
 * key holding NUL (Postgres text cannot store it), or the first value nested deeper than MAX_INPUT_DEPTH.
 */
export function findInputProblem(value: unknown): InputProblem | undefined {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (path.at(-1)?.includes('\u0000')) return { path, message: NUL_MESSAGE };
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return { path, message: NUL_MESSAGE };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (path.length >= MAX_INPUT_DEPTH) return { path, message: `Nested deeper than ${MAX_INPUT_DEPTH} levels` };
    // Pushed in reverse so the first problem in document order is reported.
    const entries = Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: [...path, entries[i]![0]] });
  }
  return undefined;
}
