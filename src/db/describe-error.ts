import { DrizzleQueryError } from 'drizzle-orm/errors';
import { postgresError } from './errors';

interface ErrorSummary {
  name: string;
  message?: string;
  sqlState?: string;
  constraint?: string;
  stack?: string[];
}

/**
 * What may be logged about a failure. Drizzle's message embeds the SQL and its parameters, Postgres' messages may
 * quote a value (`invalid input syntax for type uuid: "…"`), and driver errors can carry the connection string in
 * `.client`: log names, SQLSTATEs, constraints and stack frames, not objects, and no message of either.
 */
export function describeError(err: unknown): ErrorSummary[] {
  const chain: ErrorSummary[] = [];
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 5; depth++) {
    const pgError = postgresError(current);
    const mayQuoteValues = current instanceof DrizzleQueryError || pgError !== undefined;
    chain.push({
      name: current.name,
      ...(mayQuoteValues ? {} : { message: current.message.slice(0, 300) }),
      sqlState: pgError?.code,
      constraint: pgError?.constraint,
      stack: stackFrames(current),
    });
    current = current.cause;
  }
  return chain;
}

/** One line for a CLI or a run's record: `Error message <- DatabaseError 23505 events_slug_key`, no frames. */
export function summarizeError(err: unknown): string {
  const chain = describeError(err);
  if (chain.length === 0) return String(err).slice(0, 300);
  return chain.map((part) => [part.name, part.sqlState, part.constraint, part.message].filter(Boolean).join(' ')).join(' <- ');
}

/** Only the `at …` lines: the stack's head repeats the message, which may span lines (SQL, parameters). */
function stackFrames(err: Error): string[] | undefined {
  return err.stack
    ?.split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '))
    .slice(0, 8);
}
