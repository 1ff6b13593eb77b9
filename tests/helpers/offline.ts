import { spawn } from 'node:child_process';
import { freePort } from '../../scripts/local-postgres';
import { startCorsGateway } from '../../scripts/cors-gateway';
import { devWebhookEnv } from '../../scripts/dev-webhooks';
import { parseCorsConfig } from '../../src/config';
import { testDatabaseUrl } from '../setup/database';

export interface Api {
  base: string;
  stop: () => Promise<void>;
}

/**
 * What `npm run dev` runs: `serverless offline` with the bundled handlers, behind the local API gateway, on the
 * test file's database. `env` adds settings such as CORS_ALLOWED_ORIGINS.
 */
export async function startApi(env: Record<string, string> = {}): Promise<Api> {
  const [port, offlinePort, lambdaPort] = [await freePort(), await freePort(), await freePort()];
  const server = spawn('npx', ['serverless', 'offline', 'start'], {
    env: {
      ...process.env,
      ...devWebhookEnv(lambdaPort),
      ...env,
      DATABASE_URL: testDatabaseUrl,
      PORT: String(offlinePort),
      LAMBDA_PORT: String(lambdaPort),
    },
    detached: true,
  });
  let output = '';
  server.stdout?.on('data', (chunk) => (output += chunk));
  server.stderr?.on('data', (chunk) => (output += chunk));
  // Bundling every function takes offline a while on a busy 2-core machine.
  const deadline = Date.now() + 150_000;
  while (!output.includes('Server ready')) {
    if (Date.now() > deadline || server.exitCode !== null) {
      if (server.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
      throw new Error(`offline did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const { CORS_ALLOWED_ORIGINS } = parseCorsConfig({ ...process.env, ...env });
  const gateway = await startCorsGateway({ port, lambdaPort, allowedOrigins: CORS_ALLOWED_ORIGINS });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      await gateway.close();
      if (server.pid) process.kill(-server.pid, 'SIGTERM');
    },
  };
}
