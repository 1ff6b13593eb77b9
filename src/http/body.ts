import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MAX_BODY_BYTES } from '../contract/input';
import { LockstepError } from '../errors';

/**
 * A request body, decoded once, and parsed as JSON at most once: by the route that validates it, or else by the
 * fingerprint of a keyed request. Both then read the same value.
 */
export class RequestBody {
  #json: { value: unknown } | { error: unknown } | undefined;

  constructor(
    readonly text: string,
    readonly byteLength = Buffer.byteLength(text),
  ) {}

  /** The JSON value; throws the parser's error when the text is not JSON. */
  json(): unknown {
    this.#json ??= parseJson(this.text);
    if ('error' in this.#json) throw this.#json.error;
    return this.#json.value;
  }
}

function parseJson(text: string): { value: unknown } | { error: unknown } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error };
  }
}

/** The event's body as sent (API Gateway base64-encodes binary media types), or undefined when there is none. */
export function decodeBody(event: APIGatewayProxyEventV2): RequestBody | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  return new RequestBody(raw.toString('utf8'), raw.byteLength);
}

/** The refusal of a body over MAX_BODY_BYTES: the function's, and the dev gateway's for one too large to pass on. */
export function payloadTooLarge(): LockstepError {
  const message = `The body is larger than ${MAX_BODY_BYTES} bytes`;
  return new LockstepError('payload_too_large', message, { errors: [{ path: '', message }] });
}
