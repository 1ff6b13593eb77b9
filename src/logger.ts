import { AsyncLocalStorage } from 'node:async_hooks';
import { logConfig } from './config';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const RANK: Record<Level | 'SILENT', number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 };

/**
 * One structured logger for every function: a JSON line per entry (level, message, timestamp, service, the
 * appended keys, the entry's fields), info and debug on stdout, warnings and errors on stderr, as Powertools'
 * Logger wrote them; it replaces that dependency, whose 23 KiB every bundle compiled at each cold start. The level
 * comes from POWERTOOLS_LOG_LEVEL (the name kept for existing configurations). The HTTP plumbing adds the request id
 * and operation, the import its run id, for the work they run. Never log headers, tokens, request bodies or
 * connection strings.
 */
class Logger {
  private readonly threshold = RANK[logConfig().POWERTOOLS_LOG_LEVEL];
  private readonly scope = new AsyncLocalStorage<Record<string, unknown>>();

  constructor(private readonly service: string) {}

  /**
   * Runs `work` with `keys` on every entry it logs. Scoped to the work, not the process: serverless offline, the
   * tests and concurrent imports run many invocations in one process at once.
   */
  withKeys<T>(keys: Record<string, unknown>, work: () => T): T {
    return this.scope.run({ ...this.scope.getStore(), ...keys }, work);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write('DEBUG', message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.write('INFO', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('WARN', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.write('ERROR', message, fields);
  }

  private write(level: Level, message: string, fields: Record<string, unknown> | undefined): void {
    if (RANK[level] < this.threshold) return;
    const entry = { level, message, timestamp: new Date().toISOString(), service: this.service, ...this.scope.getStore(), ...fields };
    (RANK[level] >= RANK.WARN ? process.stderr : process.stdout).write(`${JSON.stringify(entry)}\n`);
  }
}

export const logger = new Logger('lockstep');
