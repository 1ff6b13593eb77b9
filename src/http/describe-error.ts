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
    const isQueryWrapper = current.name === 'DrizzleQueryError';
    chain.push({
      name: current.name,
      ...(isQueryWrapper ? {} : { message: current.message.slice(0, 300) }),
      sqlState: pgError?.code,
      constraint: pgError?.constraint,
      // The first stack line repeats the message; keep only frames.
      stack: current.stack?.split('\n').slice(1, 8).map((line) => line.trim()),
    });
    current = current.cause;
  }
  return chain;
}
