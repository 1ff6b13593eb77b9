import { DrizzleQueryError } from 'drizzle-orm/errors';
import { postgresError } from '../db/errors';

interface ErrorSummary {
  name: string;
  message?: string;
  sqlState?: string;
  constraint?: string;
  stack?: string[];
}

/**
 * What may be logged about a failure. Drizzle's message embeds the SQL and its parameters, and driver errors can
 * carry the connection string in `.client`: log names, SQLSTATEs, constraints and stack frames, not objects.
 */
export function describeError(err: unknown): ErrorSummary[] {
  const chain: ErrorSummary[] = [];
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 5; depth++) {
    const pgError = postgresError(current);
    const carriesQuery = current instanceof DrizzleQueryError;
    chain.push({
      name: current.name,
      ...(carriesQuery ? {} : { message: current.message.slice(0, 300) }),
      sqlState: pgError?.code,
      constraint: pgError?.constraint,
      stack: stackFrames(current),
    });
    current = current.cause;
  }
  return chain;
}

/** Only the `at …` lines: the stack's head repeats the message, which may span lines (SQL, parameters). */
function stackFrames(err: Error): string[] | undefined {
  return err.stack
    ?.split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '))
    .slice(0, 8);
}
