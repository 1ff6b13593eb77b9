import { writeFile } from 'node:fs/promises';
import { buildOpenApi } from '../src/openapi';
import { OPENAPI_TYPES_PATH, openApiTypes } from './openapi-types';

export const OPENAPI_PATH = 'docs/openapi.json';

const document = buildOpenApi();
await writeFile(OPENAPI_PATH, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${OPENAPI_PATH}`);
await writeFile(OPENAPI_TYPES_PATH, await openApiTypes(document));
console.log(`wrote ${OPENAPI_TYPES_PATH}`);
