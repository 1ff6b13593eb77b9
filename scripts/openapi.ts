import { writeFile } from 'node:fs/promises';
import { buildOpenApi } from '../src/openapi';

export const OPENAPI_PATH = 'docs/openapi.json';

await writeFile(OPENAPI_PATH, `${JSON.stringify(buildOpenApi(), null, 2)}\n`);
console.log(`wrote ${OPENAPI_PATH}`);
