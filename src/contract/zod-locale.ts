import * as z from 'zod/mini';
import { en } from 'zod/locales';

/**
 * zod/mini (a third of classic zod's code in a bundle) ships without messages: every issue would read "Invalid
 * input". The English ones clients and operators see are loaded here, by each module that parses with a schema.
 */
z.config(en());
