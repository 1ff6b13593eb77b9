import { logConfig } from './config';

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const RANK: Record<Level | 'SILENT', number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 };

/**
 * One structured logger for every function: a JSON line per entry (level, message, timestamp, service, the
 * appended keys, the entry's fields), info and debug on stdout, warnings and errors on stderr, as Powertools'
 * Logger wrote them; it replaces that dependency, whose 23 KiB every bundle compiled at each cold start. The level
 * comes from POWERTOOLS_LOG_LEVEL (the name kept for existing configurations). The request id is appended per
 * invocation by the HTTP plumbing. Never log headers, tokens, request bodies or connection strings.
 */
class Logger {
  private readonly threshold = RANK[logConfig().POWERTOOLS_LOG_LEVEL];
  private keys: Record<string, unknown> = {};

  constructor(private readonly service: string) {}

  appendKeys(keys: Record<string, unknown>): void {
    Object.assign(this.keys, keys);
  }

  removeKeys(names: readonly string[]): void {
    for (const name of names) delete this.keys[name];
  }

  resetKeys(): void {
    this.keys = {};
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
    const entry = { level, message, timestamp: new Date().toISOString(), service: this.service, ...this.keys, ...fields };
    (RANK[level] >= RANK.WARN ? process.stderr : process.stdout).write(`${JSON.stringify(entry)}\n`);
  }
}

export const logger = new Logger('lockstep');
