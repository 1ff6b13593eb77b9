/** `npm run bench:bundle`: package every function with serverless-esbuild and print the bundle sizes. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const kib = (bytes: number) => +(bytes / 1024).toFixed(1);

execFileSync('npx', ['serverless', 'package'], { stdio: 'inherit' });
const bundles = '.esbuild/.build/functions';
console.table(
  readdirSync(bundles)
    .filter((file) => file.endsWith('.mjs'))
    .map((file) => {
      const code = readFileSync(`${bundles}/${file}`);
      return { function: file.replace('.mjs', ''), minifiedKiB: kib(code.length), gzipKiB: kib(gzipSync(code).length) };
    }),
);
console.table(
  readdirSync('.serverless')
    .filter((file) => file.endsWith('.zip'))
    .map((zip) => ({ zip, KiB: kib(statSync(`.serverless/${zip}`).size) })),
);
