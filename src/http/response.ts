/** What a handler answers: API Gateway's structured result (payload 2.0), with a text body. */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };
