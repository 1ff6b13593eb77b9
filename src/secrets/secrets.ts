/**
 * Variables whose values are secrets. Locally (development, tests) each is set as itself; in AWS each comes from
 * Secrets Manager, named by `<NAME>_SECRET_ID` (its name or ARN), so no function's configuration holds a secret value. A new secret
 * (a webhook signing key, …) is one more name here, one more `*_SECRET_ID` in serverless.yml and one more
 * `secretsmanager:GetSecretValue` resource in the role of the functions that read it.
 */
export const SECRET_VARIABLES = ['DATABASE_URL', 'AUTH_JWT_SECRET'] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/** The variable that names where `name` is stored: `DATABASE_URL_SECRET_ID`. */
export const secretReference = (name: SecretVariable) => `${name}_SECRET_ID` as const;

/** Reading a secret failed. The message names the variable and the service's error name, never a value. */
export class SecretReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretReadError';
  }
}

/**
 * The values of the secrets `names` that are named by a `*_SECRET_ID` variable, read from Secrets Manager in
 * parallel (one GetSecretValue each, the secret string as the value); a secret set as a plain variable is not read.
 * The SDK is the Lambda runtime's (never bundled) and is loaded only when there is something to read.
 */
export async function readSecrets(names: readonly SecretVariable[], env: NodeJS.ProcessEnv): Promise<Partial<Record<SecretVariable, string>>> {
  // A plain variable wins: serverless offline runs with serverless.yml's *_SECRET_ID and the shell's own values.
  const wanted = names.filter((name) => !env[name] && env[secretReference(name)]);
  if (wanted.length === 0) return {};
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  // Credentials, region and (in tests) AWS_ENDPOINT_URL_SECRETS_MANAGER come from the environment.
  const client = new SecretsManagerClient({ maxAttempts: 3 });
  try {
    const read = wanted.map(async (name) => {
      const reference = secretReference(name);
      try {
        const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: env[reference] }));
        if (SecretString === undefined || SecretString === '') throw new SecretReadError(`${reference}: the secret has no string value`);
        return [name, SecretString] as const;
      } catch (err) {
        if (err instanceof SecretReadError) throw err;
        // The SDK's error names the failure (AccessDeniedException, ResourceNotFoundException); its message may quote the id.
        throw new SecretReadError(`${reference}: could not read the secret (${err instanceof Error ? err.name : 'error'})`, { cause: err });
      }
    });
    return Object.fromEntries(await Promise.all(read));
  } finally {
    client.destroy();
  }
}
