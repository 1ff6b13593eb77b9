/**
 * Drives the Swagger UI of GET /docs in a headless Chromium tab as a reader would: the Authorize dialog, then an
 * operation's "Try it out" form (parameters, body), Execute, and what the page shows of the answer.
 */
import type { Tab } from './chromium';

export interface TryItAnswer {
  status: number;
  body: string;
  headers: string;
  curl: string;
}

/** Page-side helpers, defined once per page load: wait for an element, type into a React input. */
const HELPERS = `window.__docs ??= {
  until: async (find, what) => {
    for (let i = 0; i < 400; i++) {
      const found = find();
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('/docs shows no ' + what);
  },
  type: (input, value) => {
    const prototype = input instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(prototype, 'value').set.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  },
}`;

export async function openReference(tab: Tab, url: string): Promise<number> {
  await tab.goto(url);
  await tab.evaluate(HELPERS);
  return tab.evaluate<number>(`__docs.until(() => document.querySelectorAll('.opblock').length, 'operations')`);
}

/** Enters a bearer token in the Authorize dialog, as the reader types it. */
export async function authorize(tab: Tab, token: string): Promise<void> {
  await tab.evaluate(`(async () => {
    document.querySelector('.btn.authorize').click();
    const input = await __docs.until(() => document.querySelector('#auth-bearer-value'), 'token field');
    __docs.type(input, ${JSON.stringify(token)});
    document.querySelector('.auth-btn-wrapper .btn.authorize').click();
    (await __docs.until(() => document.querySelector('.auth-btn-wrapper .btn-done'), 'close button')).click();
  })()`);
}

/** Opens an operation, fills its parameters and body, presses Execute and reads the answer the page shows. */
export async function tryIt(
  tab: Tab,
  operation: { tag: string; operationId: string },
  input: { params?: Record<string, string>; body?: unknown },
): Promise<TryItAnswer> {
  return tab.evaluate<TryItAnswer>(`(async () => {
    const op = document.querySelector(${JSON.stringify(`#operations-${operation.tag}-${operation.operationId}`)});
    if (!op.classList.contains('is-open')) op.querySelector('.opblock-summary-control').click();
    const execute = await __docs.until(() => op.querySelector('.btn.execute'), 'Execute button');
    op.querySelector('.btn-clear')?.click();
    await __docs.until(() => !op.querySelector('.live-responses-table'), 'cleared answer');
    for (const [name, value] of Object.entries(${JSON.stringify(input.params ?? {})})) {
      __docs.type(op.querySelector('tr[data-param-name="' + name + '"] input'), value);
    }
    ${input.body === undefined ? '' : `__docs.type(op.querySelector('textarea.body-param__text'), ${JSON.stringify(JSON.stringify(input.body))});`}
    // Swagger UI reads a parameter field after a 300 ms debounce.
    await new Promise((resolve) => setTimeout(resolve, 400));
    execute.click();
    const answer = await __docs.until(() => op.querySelector('.live-responses-table .response'), 'answer');
    const text = (selector) => answer.querySelector(selector)?.textContent ?? '';
    return {
      status: Number(text('.response-col_status')),
      body: text('.highlight-code pre'),
      headers: [...answer.querySelectorAll('.headerline')].map((line) => line.textContent.trim()).join('\\n'),
      curl: op.querySelector('.request-snippets pre')?.textContent ?? '',
    };
  })()`);
}
