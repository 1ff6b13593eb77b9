import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaFunctions } from '../../scripts/lambda-functions';
import { HTTP_SECRETS, JOB_SECRETS } from '../../src/config';
import { METRIC } from '../../src/metrics/metrics';
import { createRegistrationRoute } from '../../src/registrations/routes';
import { SECRET_VARIABLES, secretReference } from '../../src/secrets/secrets';

/** Values set as plain variables while packaging: none may reach the template. */
const CANARIES = {
  DATABASE_URL: 'postgresql://lockstep:canary-db-password-7f3a@db.example.com/lockstep',
  AUTH_JWT_SECRET: 'canary-jwt-secret-7f3a-0123456789abcdefghij',
};

interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown;
}
interface Resource {
  Type: string;
  Properties: Record<string, any>;
}

let dir: string;
let text: string;
let resources: Record<string, Resource>;

/**
 * One `serverless package`, as `.ci/run` runs it (no AWS credentials), in a copy of the service so that it shares
 * no build folder with `serverless offline` in the e2e tests; every test below reads its template.
 */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lockstep-template-'));
  for (const path of ['serverless.yml', 'package.json', 'tsconfig.json', 'esbuild-plugins.js', 'scripts/serverless-cors.cjs', 'functions', 'src', 'docs']) {
    cpSync(path, join(dir, path), { recursive: true });
  }
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  const env = { PATH: process.env.PATH, HOME: dir, AWS_EC2_METADATA_DISABLED: 'true', ...CANARIES };
  await promisify(execFile)('npx', ['serverless', 'package'], { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 });
  text = readFileSync(join(dir, '.serverless/cloudformation-template-update-stack.json'), 'utf8');
  resources = (JSON.parse(text) as { Resources: Record<string, Resource> }).Resources;
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const logicalId = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`;
const roleOf = (name: string) => resources[logicalId(name)]!.Properties.Role['Fn::GetAtt'][0] as string;
const statements = (role: string) =>
  (resources[role]!.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
/** Action → the resources it is allowed on, as JSON text (ARNs are built with Fn::Join). */
const grants = (role: string) =>
  Object.fromEntries(statements(role).flatMap((s) => s.Action.map((action) => [action, JSON.stringify(s.Resource)])));

describe('the packaged CloudFormation template', () => {
  it('holds no secret value, and no function has a variable named as a secret', () => {
    for (const value of Object.values(CANARIES)) expect(text).not.toContain(value);
    expect(ofType('AWS::Lambda::Function')).toHaveLength(lambdaFunctions().length);
    for (const fn of lambdaFunctions()) {
      const variables = Object.keys(resources[logicalId(fn.name)]!.Properties.Environment.Variables as object);
      for (const secret of SECRET_VARIABLES) expect(variables).not.toContain(secret);
      // What the function reads at its cold start is named.
      for (const secret of fn.http ? HTTP_SECRETS : JOB_SECRETS) expect(variables, fn.name).toContain(secretReference(secret));
    }
  });

  it('gives each kind of function its own role: HTTP functions one without S3, the jobs theirs', () => {
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    for (const fn of lambdaFunctions()) expect(roleOf(fn.name), fn.name).toBe(fn.http ? 'HttpFunctionsRole' : `${logicalId(fn.name).replace('LambdaFunction', '')}Role`);
    const wildcards = ofType('AWS::IAM::Role')
      .flatMap(([role]) => statements(role))
      .filter((s) => s.Action.some((action) => action.includes('*')) || JSON.stringify(s.Resource) === '"*"');
    expect(wildcards).toEqual([]);

    const http = grants('HttpFunctionsRole');
    expect(Object.keys(http).sort()).toEqual(['lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue']);
    // The wake-up after a request wrote webhook messages: the deliverer only.
    expect(http['lambda:InvokeFunction']).toMatch(/:function:lockstep-dev-deliverWebhooks"/);
    expect(http['secretsmanager:GetSecretValue']).toMatch(/database-url-\?{6}.*auth-jwt-secret-\?{6}/);

    const importing = grants('ImportEventsRole');
    expect(Object.keys(importing).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']);
    expect(importing['s3:GetObject']).toBe('"arn:aws:s3:::lockstep-dev-imports/*"');
    expect(importing['secretsmanager:GetSecretValue']).not.toContain('auth-jwt-secret');

    const maintenance = grants('MaintenanceRole');
    expect(Object.keys(maintenance).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']);
    expect(maintenance['secretsmanager:GetSecretValue']).not.toContain('auth-jwt-secret');
  });

  it('sends a scheduled job that still fails after its retries to the failure queue', () => {
    for (const fn of lambdaFunctions().filter((f) => !f.http)) {
      const config = ofType('AWS::Lambda::EventInvokeConfig').find(([, r]) => r.Properties.FunctionName.Ref === logicalId(fn.name));
      expect(config?.[1].Properties.DestinationConfig.OnFailure.Destination, fn.name).toEqual({ 'Fn::GetAtt': ['ScheduledJobsFailureQueue', 'Arn'] });
    }
  });

  it('alarms on 5xx, drift, a failed import, a disabled webhook subscription and the jobs’ errors, to one topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const watched = alarms.map((a) => a.MetricName ?? a.Metrics.find((m: { MetricStat?: unknown }) => m.MetricStat).MetricStat.Metric.MetricName);
    expect(watched).toEqual(expect.arrayContaining(['5xx', METRIC.counterDriftFound, METRIC.importRunsFailed, METRIC.webhookSubscriptionsDisabled]));
    const jobErrors = alarms.filter((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors').map((a) => a.Dimensions[0].Value.Ref);
    expect(jobErrors.sort()).toEqual(lambdaFunctions().filter((f) => !f.http).map((f) => logicalId(f.name)).sort());
    for (const alarm of alarms) expect(JSON.stringify(alarm.AlarmActions)).toContain('AlarmTopic');
  });

  it('throttles the stage, and the registration route more strictly', () => {
    const stage = resources.HttpApiStage!.Properties;
    const all = stage.DefaultRouteSettings;
    const registration = stage.RouteSettings[`${createRegistrationRoute.method} ${createRegistrationRoute.path}`];
    expect(all.ThrottlingRateLimit).toBeGreaterThan(0);
    expect(all.ThrottlingBurstLimit).toBeGreaterThan(0);
    expect(registration.ThrottlingRateLimit).toBeLessThan(all.ThrottlingRateLimit);
    expect(registration.ThrottlingBurstLimit).toBeLessThanOrEqual(all.ThrottlingBurstLimit);
  });
});
