import { readFileSync } from 'node:fs';

/**
 * The project's Node.js major from package.json `engines` (`>=24`), checked where it matters: the tests and
 * `npm run dev` must run on the Lambda runtime's Node, which npm scripts get from the `node-linux-*` packages
 * (node_modules/.bin/node) even when the machine has an older one.
 */
export function assertNodeVersion(what: string): void {
  const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node as string;
  const required = Number(/^>=(\d+)/.exec(engines)?.[1]);
  const major = Number(process.versions.node.split('.')[0]);
  console.log(`${what} on Node.js ${process.version} (${process.execPath})`);
  if (!(major >= required)) {
    throw new Error(`${what} needs Node.js ${engines} (package.json engines); run it through npm (npm test, npm run dev)`);
  }
}
