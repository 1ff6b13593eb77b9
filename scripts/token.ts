import { SignJWT } from 'jose';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DevTokenOptions {
  email?: string;
  name?: string;
  /** Seconds until expiry; negative for an already expired token. */
  expiresIn?: number;
  issuer?: string;
  audience?: string;
}

/** An HS256 token as the local verifier expects it. Development and tests only. */
export async function signDevToken(secret: string, sub: string, options: DevTokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(options.email && { email: options.email }), ...(options.name && { name: options.name }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** Same default as `npm run dev`, so a token printed here works against the local server. */
export const DEV_JWT_SECRET = 'lockstep-local-development-secret-not-for-production';

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sub = process.argv[2];
  if (!sub) {
    console.error('usage: npm run token -- <sub> [email] [hours]');
    process.exit(2);
  }
  const hours = Number(process.argv[4] ?? 24);
  console.log(
    await signDevToken(process.env.AUTH_JWT_SECRET || DEV_JWT_SECRET, sub, {
      email: process.argv[3],
      expiresIn: hours * 3600,
      issuer: process.env.AUTH_ISSUER,
      audience: process.env.AUTH_AUDIENCE,
    }),
  );
}
