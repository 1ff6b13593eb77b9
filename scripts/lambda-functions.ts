import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

export interface LambdaFunction {
  /** The function's name in serverless.yml (its zip is .serverless/<name>.zip). */
  name: string;
  /** The handler module without extension: functions/health. */
  file: string;
  /** Behind API Gateway (an httpApi event), rather than scheduled. */
  http: boolean;
}

/** The functions serverless.yml deploys, read from its `functions:` section. */
export function lambdaFunctions(): LambdaFunction[] {
  const yaml = readFileSync('serverless.yml', 'utf8');
  const start = yaml.indexOf('\nfunctions:\n');
  // Up to the next top-level key (resources:), if any.
  const end = yaml.slice(start + 1).search(/\n[^\s#]/);
  const section = yaml.slice(start, end === -1 ? undefined : start + 1 + end + 1);
  return [...section.matchAll(/^ {2}(\w+):\n((?:(?: {4}.*| *#.*)?\n)*)/gm)].map(([, name, body]) => {
    const file = /handler: (functions\/[\w-]+)\.handler/.exec(body ?? '')?.[1];
    if (name === undefined || file === undefined) throw new Error(`serverless.yml: no handler for ${name}`);
    return { name, file, http: /httpApi:/.test(body ?? '') };
  });
}

/**
 * `serverless package` from a clean build folder (serverless-esbuild keeps .esbuild/ between runs, and would zip
 * stale files into every function), with the driver the bundles are to carry.
 */
export function packageFunctions(driver: string): void {
  rmSync('.esbuild', { recursive: true, force: true });
  execFileSync('npx', ['serverless', 'package'], { stdio: 'inherit', env: { ...process.env, DATABASE_DRIVER: driver } });
}

/** The driver a deployment carries: DATABASE_DRIVER at package time, else serverless.yml's default. */
export function packagedDriver(): string {
  const fallback = /databaseDriver: \$\{env:DATABASE_DRIVER, '(\w+)'\}/.exec(readFileSync('serverless.yml', 'utf8'))?.[1];
  const driver = process.env.DATABASE_DRIVER || fallback;
  if (driver === undefined) throw new Error('serverless.yml: no custom.databaseDriver default');
  return driver;
}
