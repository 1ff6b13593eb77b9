import { openPg } from './pg';
import type { Drivers } from './types';

export const drivers: Drivers = { pg: openPg };
