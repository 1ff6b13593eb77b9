import * as z from 'zod/mini';
import './contract/zod-locale';
import { readSecrets, SECRET_VARIABLES, type SecretVariable } from './secrets/secrets';

/**
 * Everything lockstep reads from the environment, parsed once per section; a bad value stops the cold start. The
 * HTTP functions need the database and auth sections, the scheduled jobs the database and their own section only.
 */
const DatabaseSettings = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** `neon` uses @neondatabase/serverless over WebSockets; `pg` a TCP pool. `auto` picks neon for *.neon.tech hosts. */
  DATABASE_DRIVER: z._default(z.enum(['auto', 'pg', 'neon']), 'auto'),
  /** host:port of a WebSocket-to-TCP proxy for the neon driver against a non-Neon Postgres (tests, local). */
  NEON_WS_PROXY: z.optional(z.string().check(z.minLength(1))),
  DATABASE_POOL_MAX: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(200)), 5),
  /**
   * A pool idle longer than this (a frozen Lambda) is replaced before use: its sockets may be dead. An idle connection
   * closes after it, and the server ends direct sessions idle for twice as long. 0: never (a process that runs
   * beside its database for good, as the benchmark's pool stands for a pooler's server connections).
   */
  DATABASE_MAX_IDLE_SECONDS: z._default(z.coerce.number().check(z.minimum(0)), 60),
  /**
   * The hot statements run as named prepared statements, planned once per connection. A pooler in transaction mode
   * must track them (PgBouncer 1.21 and later with max_prepared_statements, as Neon's pooler); set false behind an
   * older one.
   */
  DATABASE_PREPARED_STATEMENTS: z._default(z.stringbool(), true),
});

/**
 * Keys fetched in the clear could be swapped on the way, and with them any token accepted: https only. A loopback
 * address never leaves the machine, so a local identity provider (tests, development) may use http.
 */
function isHttpsOrLoopback(value: string): boolean {
  const url = new URL(value);
  return url.protocol === 'https:' || ['localhost', '[::1]'].includes(url.hostname) || /^127(\.\d{1,3}){3}$/.test(url.hostname);
}

const ConfigSchema = z
  .extend(DatabaseSettings, {
    AUTH_JWT_SECRET: z.optional(z.string().check(z.minLength(32, 'AUTH_JWT_SECRET must be at least 32 characters'))),
    AUTH_JWKS_URL: z.optional(
      z.url({ protocol: /^https?$/ }).check(
        z.refine(isHttpsOrLoopback, { message: 'AUTH_JWKS_URL must be https (http only for a loopback host: tests, development)' }),
      ),
    ),
    AUTH_ISSUER: z.optional(z.string().check(z.minLength(1))),
    AUTH_AUDIENCE: z.optional(z.string().check(z.minLength(1))),
    /** The function's timeout, for calls that bring no Lambda context (serverless.yml passes provider.timeout). */
    FUNCTION_TIMEOUT_SECONDS: z._default(z.coerce.number().check(z.positive()), 15),
    /** Time kept back from the deadline to answer: the database must be done this long before it. */
    DEADLINE_MARGIN_MS: z._default(z.coerce.number().check(z.int(), z.minimum(250)), 500),
  })
  .check(
    z.refine((c) => c.AUTH_JWT_SECRET !== undefined || c.AUTH_JWKS_URL !== undefined, {
      message: 'set AUTH_JWKS_URL (AWS) or AUTH_JWT_SECRET (local HS256)',
      path: ['AUTH_JWT_SECRET'],
    }),
    // A shared identity provider signs tokens for many apps: without both claims pinned, any of them would pass.
    z.refine((c) => c.AUTH_JWKS_URL === undefined || (c.AUTH_ISSUER !== undefined && c.AUTH_AUDIENCE !== undefined), {
      message: 'AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE',
      path: ['AUTH_ISSUER'],
    }),
  );

const ImportSettings = z.extend(DatabaseSettings, {
  /** `s3://bucket/prefix/` in AWS; a folder (or one .jsonl/.csv file) in development. The import reads it. */
  IMPORT_SOURCE: z.string(),
  /** The `sub` of the user who organizes imported events; created on first sight like any caller. */
  IMPORT_OWNER_SUB: z.string().check(z.minLength(1), z.maxLength(255)),
  /** Rows written at once. */
  IMPORT_CONCURRENCY: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(64)), 8),
  /** An S3-compatible endpoint (MinIO, a local fake); path-style addressing. Unset in AWS. */
  IMPORT_S3_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
});

/** `*`, or an origin as a browser sends it: http(s), host and port only (`https://app.example.com`). */
const isOrigin = (value: string) =>
  URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol) && new URL(value).origin === value;
const Origin = z.string().check(
  z.refine((value) => value === '*' || isOrigin(value), {
    message: 'each origin is `*` or http(s)://host[:port] with no path or trailing slash',
  }),
);

/** Read by serverless.yml (API Gateway's CORS) and `npm run dev`, not by the functions: the gateway answers CORS. */
const CorsSettings = z.object({
  /** Comma-separated browser origins allowed to call the API; unset means no CORS headers at all. */
  CORS_ALLOWED_ORIGINS: z.pipe(
    z.pipe(
      z._default(z.string(), ''),
      z.transform((list: string) => list.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')),
    ),
    z.array(Origin),
  ),
});

const MaintenanceSettings = z.extend(DatabaseSettings, {
  /** The scheduled run only reports counter drift unless this is true. */
  MAINTENANCE_REPAIR: z._default(z.stringbool(), false),
});

/** Webhook delivery, read by the deliverer and by the HTTP functions that validate endpoints and wake it. */
const WebhookSettings = z.object({
  /**
   * Development and tests only: endpoints may use http:// and connect to loopback addresses. Private, link-local
   * and reserved addresses stay refused whatever this says.
   */
  WEBHOOK_ALLOW_LOOPBACK: z._default(z.stringbool(), false),
  /** One attempt's limit, from connecting to the end of the (size-capped) answer. */
  WEBHOOK_ATTEMPT_TIMEOUT_MS: z._default(z.coerce.number().check(z.int(), z.minimum(100), z.maximum(60_000)), 10_000),
  /** A subscription whose attempts have failed for this long (no success between) is disabled. */
  WEBHOOK_DISABLE_AFTER_HOURS: z._default(z.coerce.number().check(z.positive()), 120),
  /** The delivery function woken (asynchronous invoke) right after a request wrote messages; unset: none. */
  WEBHOOK_DELIVERY_FUNCTION: z.optional(z.string().check(z.minLength(1))),
  /** The Lambda API to invoke it through, when not AWS's own (serverless offline's, under `npm run dev`). */
  WEBHOOK_LAMBDA_ENDPOINT: z.optional(z.url({ protocol: /^https?$/ })),
});

const MetricsSettings = z.object({
  /** CloudWatch namespace of the Embedded Metric Format lines (serverless.yml: lockstep/<stage>); unset: none written. */
  METRICS_NAMESPACE: z.optional(z.string().check(z.regex(/^[\w.\-/#:]{1,255}$/, 'letters, digits and . - _ / # : only'))),
});

const LogSettings = z.object({
  POWERTOOLS_LOG_LEVEL: z._default(z.pipe(z.string().check(z.toUpperCase()), z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'])), 'INFO'),
});

export type DatabaseConfig = z.infer<typeof DatabaseSettings>;
export type Config = z.infer<typeof ConfigSchema>;
export type ImportConfig = z.infer<typeof ImportSettings>;
export type MaintenanceConfig = z.infer<typeof MaintenanceSettings>;
export type CorsConfig = z.infer<typeof CorsSettings>;
export type WebhookConfig = z.infer<typeof WebhookSettings>;

function parseSection<S extends z.ZodMiniType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  // Empty strings come from serverless.yml `${env:X, ''}` defaults: treat them as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    // Names and messages only: values may be secrets.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  return parseSection(ConfigSchema, env);
}

export function parseCorsConfig(env: NodeJS.ProcessEnv): CorsConfig {
  return parseSection(CorsSettings, env);
}

/** The secrets each kind of function reads: the HTTP functions verify tokens, the scheduled jobs do not. */
/** The HTTP functions read every secret there is. */
export const HTTP_SECRETS: readonly SecretVariable[] = SECRET_VARIABLES;
export const JOB_SECRETS: readonly SecretVariable[] = ['DATABASE_URL'];

/** Secret values read from Secrets Manager (AWS), laid over the environment when a section is parsed. */
let secrets: Partial<Record<SecretVariable, string>> = {};
const environment = (): NodeJS.ProcessEnv => ({ ...process.env, ...secrets });

/**
 * Reads the secrets `names` that the environment names by `*_SECRET_ID` (in AWS), all at once; nothing to wait for
 * when they are plain variables (locally). Awaited once per instance, at the end of its cold start, before the
 * configuration is parsed; the values live in this module only, never in process.env or a log.
 */
export async function loadSecrets(names: readonly SecretVariable[]): Promise<void> {
  secrets = { ...secrets, ...(await readSecrets(names, process.env)) };
}

function once<T>(parse: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= parse());
}

/** Database and auth: what every HTTP function needs. */
export const config = once(() => parseConfig(environment()));
export const databaseConfig = once(() => parseSection(DatabaseSettings, environment()));
export const importConfig = once(() => parseSection(ImportSettings, environment()));
export const maintenanceConfig = once(() => parseSection(MaintenanceSettings, environment()));
export const corsConfig = once(() => parseCorsConfig(process.env));
export const webhookConfig = once(() => parseSection(WebhookSettings, process.env));
export const metricsConfig = once(() => parseSection(MetricsSettings, process.env));
/** Every function and CLI logs. */
export const logConfig = once(() => parseSection(LogSettings, process.env));
