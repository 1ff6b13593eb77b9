import { openNeon } from './neon';
import type { Drivers } from './types';

export const drivers: Drivers = { neon: openNeon };
