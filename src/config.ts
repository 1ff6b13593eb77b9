import * as z from 'zod';

/** Everything lockstep reads from the environment, parsed once; a bad value stops the cold start. */
const ConfigSchema = z
  .object({
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
    /** `neon` uses @neondatabase/serverless over WebSockets; `pg` a TCP pool. `auto` picks neon for *.neon.tech hosts. */
    DATABASE_DRIVER: z.enum(['auto', 'pg', 'neon']).default('auto'),
    /** host:port of a WebSocket-to-TCP proxy for the neon driver against a non-Neon Postgres (tests, local). */
    NEON_WS_PROXY: z.string().min(1).optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(5),
    /** A pool idle longer than this (a frozen Lambda) is replaced before use: its sockets may be dead. */
    DATABASE_MAX_IDLE_SECONDS: z.coerce.number().min(0).default(60),
    AUTH_JWT_SECRET: z.string().min(32, 'AUTH_JWT_SECRET must be at least 32 characters').optional(),
    AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    AUTH_ISSUER: z.string().min(1).optional(),
    AUTH_AUDIENCE: z.string().min(1).optional(),
  })
  .refine((c) => c.AUTH_JWT_SECRET !== undefined || c.AUTH_JWKS_URL !== undefined, {
    message: 'set AUTH_JWKS_URL (AWS) or AUTH_JWT_SECRET (local HS256)',
    path: ['AUTH_JWT_SECRET'],
  })
  // A shared identity provider signs tokens for many apps: without both claims pinned, any of them would pass.
  .refine((c) => c.AUTH_JWKS_URL === undefined || (c.AUTH_ISSUER !== undefined && c.AUTH_AUDIENCE !== undefined), {
    message: 'AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE',
    path: ['AUTH_ISSUER'],
  });

export type Config = z.infer<typeof ConfigSchema>;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  // Empty strings come from serverless.yml `${env:X, ''}` defaults: treat them as unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    // Names and messages only: values may be secrets.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

let current: Config | undefined;

export function config(): Config {
  current ??= parseConfig(process.env);
  return current;
}
