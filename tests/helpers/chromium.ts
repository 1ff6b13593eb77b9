import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';

/** One headless Chromium tab, driven over the DevTools protocol (nothing beyond `ws`, already a dependency). */
export interface Tab {
  goto: (url: string) => Promise<void>;
  /** Evaluates an expression in the page (awaiting a promise) and returns its JSON value. */
  evaluate: <T>(expression: string) => Promise<T>;
  screenshot: () => Promise<Buffer>;
  close: () => Promise<void>;
}

/** Debian's chromium, installed by scripts/ensure-debian.sh where it can be; otherwise the reason it is not. */
export async function findChromium(): Promise<{ path: string } | { missing: string }> {
  try {
    const { stdout } = await promisify(execFile)('bash', ['scripts/ensure-debian.sh', 'chromium'], { timeout: 600_000 });
    return { path: stdout.trim() };
  } catch (err) {
    return { missing: ((err as { stderr?: string }).stderr ?? String(err)).trim() };
  }
}

export async function openTab(chromium: string): Promise<Tab> {
  const profile = await mkdtemp(join(tmpdir(), 'lockstep-chromium-'));
  const browser: ChildProcess = spawn(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-port=0',
    `--user-data-dir=${profile}`, '--window-size=1280,900', 'about:blank',
  ]);
  let log = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${log}`)), 30_000);
    browser.stderr?.on('data', (chunk) => {
      log += chunk;
      const port = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(log)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
  });
  const [page] = ((await (await fetch(`${endpoint}/json/list`)).json()) as Array<{ type: string; webSocketDebuggerUrl: string }>)
    .filter((target) => target.type === 'page');
  const socket = new WebSocket(page!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async <T>(expression: string): Promise<T> => {
    const { result, exceptionDetails } = await send<{ result: { value: T }; exceptionDetails?: { exception?: { description?: string } } }>(
      'Runtime.evaluate',
      { expression, awaitPromise: true, returnByValue: true },
    );
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? 'evaluation failed');
    return result.value;
  };
  return {
    evaluate,
    goto: async (url) => {
      await send('Page.navigate', { url });
      const deadline = Date.now() + 30_000;
      while ((await evaluate<string>('location.href + " " + document.readyState')) !== `${url} complete`) {
        if (Date.now() > deadline) throw new Error(`${url} did not load`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    screenshot: async () => Buffer.from((await send<{ data: string }>('Page.captureScreenshot')).data, 'base64'),
    close: async () => {
      socket.close();
      browser.kill('SIGTERM');
      await new Promise((resolve) => (browser.exitCode === null ? browser.once('exit', resolve) : resolve(undefined)));
      // Chromium's helper processes can still be writing to the profile when the browser process exits (ENOTEMPTY).
      await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}
