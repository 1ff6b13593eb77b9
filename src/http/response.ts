/** What a handler answers: API Gateway's structured result (payload 2.0), with a text body. */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/** What a route's service part answers; the adapter turns it into an HttpResponse. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function toResponse(reply: Reply, contentType: string | undefined): HttpResponse {
  if (reply.body === undefined) return { statusCode: reply.status, headers: reply.headers ?? {}, body: '' };
  return {
    statusCode: reply.status,
    headers: { ...(contentType === undefined ? JSON_HEADERS : { 'content-type': contentType }), ...reply.headers },
    body: contentType === undefined ? JSON.stringify(reply.body) : String(reply.body),
  };
}
