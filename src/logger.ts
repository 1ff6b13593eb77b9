import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger (level from POWERTOOLS_LOG_LEVEL) for every function. The request id is appended per invocation by the HTTP plumbing.
 * Never log headers, tokens, request bodies or connection strings.
 */
export const logger = new Logger({ serviceName: 'lockstep' });
