/**
 * `npm run bench:bundle`: package every function with `serverless package` (with the driver of DATABASE_DRIVER, else
 * serverless.yml's default) and print, from each function's zip, its code size against the 250 KiB budget of an HTTP function,
 * and from its esbuild metafile the modules that make it up.
 */
import { readFileSync } from 'node:fs';
import type { Metafile } from 'esbuild';
import { METAFILE_DIR } from '../esbuild-plugins.js';
import { lambdaFunctions, packageFunctions, packagedDriver } from './lambda-functions';

/** Minified code an HTTP function may ship (issue 13): less to read and compile on every cold start. */
const HTTP_BUDGET_KIB = 250;
const TOP_MODULES = 5;

const kib = (bytes: number) => +(bytes / 1024).toFixed(1);

/** Name and uncompressed size of every file in a zip, from its central directory. */
function zipEntries(path: string): { name: string; bytes: number }[] {
  const zip = readFileSync(path);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error(`${path}: not a zip`);
  const entries: { name: string; bytes: number }[] = [];
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    entries.push({ name: zip.toString('utf8', at + 46, at + 46 + nameLength), bytes: zip.readUInt32LE(at + 24) });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

/** A bundle's bytes by package (node_modules) or by source folder (src/db, functions). */
function largestModules(metafile: Metafile): string {
  const output = Object.values(metafile.outputs)[0];
  const bytes = new Map<string, number>();
  for (const [file, input] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
    const group = pkg ?? file.split('/').slice(0, file.startsWith('src/') ? 2 : 1).join('/');
    bytes.set(group, (bytes.get(group) ?? 0) + input.bytesInOutput);
  }
  return [...bytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP_MODULES)
    .map(([group, size]) => `${group} ${kib(size)}`)
    .join(', ');
}

const driver = packagedDriver();
packageFunctions(driver);

const rows = lambdaFunctions().map((fn) => {
  const zip = `.serverless/${fn.name}.zip`;
  const entries = zipEntries(zip);
  const code = entries.filter((entry) => entry.name.endsWith('.mjs')).reduce((sum, entry) => sum + entry.bytes, 0);
  const metafile = JSON.parse(readFileSync(`${METAFILE_DIR}/${fn.file.replace('functions/', '')}.json`, 'utf8')) as Metafile;
  return {
    function: fn.name,
    kind: fn.http ? 'http' : 'scheduled',
    files: entries.length,
    codeKiB: kib(code),
    zipKiB: kib(readFileSync(zip).length),
    budget: fn.http ? (kib(code) <= HTTP_BUDGET_KIB ? 'ok' : 'OVER') : '-',
    'largest modules (KiB)': largestModules(metafile),
  };
});
console.log(`\ndriver: ${driver} (DATABASE_DRIVER at package time); HTTP budget ${HTTP_BUDGET_KIB} KiB of minified code`);
console.table(rows);
const http = rows.filter((row) => row.kind === 'http');
const over = http.filter((row) => row.budget === 'OVER');
console.log(
  `HTTP functions: ${http.length}, code ${Math.min(...http.map((r) => r.codeKiB))}..${Math.max(...http.map((r) => r.codeKiB))} KiB, ` +
    `${over.length} over ${HTTP_BUDGET_KIB} KiB`,
);
