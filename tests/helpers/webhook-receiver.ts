import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  /** The body as sent, for verifying its signatures again. */
  raw: string;
  body: { type: string; timestamp: string; eventId: string; sequence: number; data: any };
  headers: IncomingHttpHeaders;
}

/** What the receiver answers to one request: a status, after `delayMs`, with extra headers. */
export interface Reply {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

/**
 * A local endpoint that verifies every message with the `standardwebhooks` library against the secrets it is told
 * (any one of them must verify), records what it accepted, and counts a message arriving while the same message is
 * still being handled (sent twice at the same time).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Requests whose signature did not verify. */
  rejected = 0;
  /**
   * Times a webhook-id arrived while another connection carrying it was still open: the sender sent it twice at
   * once. (A sender that gave up on an attempt has closed that connection, whatever the handler is still doing.)
   */
  overlaps = 0;
  secrets: string[] = [];
  reply: (message: Received, attempt: number) => Reply = () => ({ status: 204 });
  private readonly inFlight = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void this.handle(req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Stop listening and drop open connections: the endpoint is down. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  private async handle(headers: IncomingHttpHeaders, payload: string, res: import('node:http').ServerResponse) {
    const id = String(headers['webhook-id']);
    if (this.inFlight.has(id)) this.overlaps++;
    this.inFlight.add(id);
    let senderGone = false;
    res.once('close', () => {
      senderGone = true;
      this.inFlight.delete(id);
    });
    const verified = this.secrets.some((secret) => {
      try {
        new Webhook(secret).verify(payload, headers as Record<string, string>);
        return true;
      } catch {
        return false;
      }
    });
    if (!verified) {
      this.rejected++;
      res.writeHead(400).end();
      return;
    }
    const message: Received = { id, raw: payload, body: JSON.parse(payload), headers };
    const attempt = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, attempt);
    const reply = this.reply(message, attempt);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    // A sender that timed out has closed the connection: that attempt failed, and its answer goes nowhere.
    if (senderGone) return;
    if (reply.status >= 200 && reply.status < 300) this.received.push(message);
    res.writeHead(reply.status, reply.headers).end('ok');
  }

  /** Distinct messages accepted, by webhook-id. */
  accepted(): Map<string, Received> {
    return new Map(this.received.map((message) => [message.id, message]));
  }
}
