import { readFileSync } from 'node:fs';

/**
 * The project's Node.js from package.json `devEngines.runtime` (`>=24`, Lambda's runtime), checked where it matters:
 * the tests and `npm run dev` must run on it, which npm scripts get from the `node-linux-*` packages
 * (node_modules/.bin/node) even when the machine has an older one. `engines` says what installing needs (any Node
 * from 20 on); npm itself ignores devEngines here (`onFail: ignore`), as it checks the Node npm runs on, not the
 * one the scripts get.
 */
export function assertNodeVersion(what: string): void {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const wanted = manifest.devEngines.runtime.version as string;
  const required = Number(/^>=(\d+)/.exec(wanted)?.[1]);
  const major = Number(process.versions.node.split('.')[0]);
  console.log(`${what} on Node.js ${process.version} (${process.execPath})`);
  if (!(major >= required)) {
    throw new Error(`${what} needs Node.js ${wanted} (package.json devEngines); run it through npm (npm test, npm run dev)`);
  }
}
