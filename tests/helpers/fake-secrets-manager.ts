import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManager {
  /** For AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  endpoint: string;
  put(secretId: string, value: string): void;
  /** The SecretId of every GetSecretValue, in order of arrival. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * The one Secrets Manager operation lockstep uses, GetSecretValue, over real HTTP on 127.0.0.1 in the service's JSON
 * protocol (X-Amz-Target), answering after `delayMs` as a service across a network would. An unknown id answers
 * ResourceNotFoundException. Signatures are not checked.
 */
export async function startFakeSecretsManager(options: { delayMs?: number } = {}): Promise<FakeSecretsManager> {
  const secrets = new Map<string, string>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      setTimeout(() => {
        if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
          return reply(400, { __type: 'UnknownOperationException', message: 'not in this fake' });
        }
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        requests.push(SecretId);
        const value = secrets.get(SecretId);
        if (value === undefined) {
          return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        }
        reply(200, { ARN: `arn:aws:secretsmanager:eu-central-1:000000000000:secret:${SecretId}-AbCdEf`, Name: SecretId, SecretString: value, VersionId: '1' });
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    put: (secretId, value) => void secrets.set(secretId, value),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the SDK needs besides the endpoint to call the fake: a region and any credentials. */
export const fakeAwsEnvironment = (endpoint: string) => ({
  AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
  AWS_REGION: 'eu-central-1',
  AWS_ACCESS_KEY_ID: 'AKIDFAKE',
  AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
});
