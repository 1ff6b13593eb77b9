import { openNeon } from './neon';
import { openPg } from './pg';
import type { Drivers } from './types';

/** Tests, CLIs and scripts carry both drivers; a deployed bundle only the one it was packaged for (package.json `imports`). */
export const drivers: Drivers = { pg: openPg, neon: openNeon };
