import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';

/**
 * The database or a transaction on it: every data function takes this first. Both drivers return node-postgres
 * shaped results (the Neon driver embeds node-postgres), so one result type serves both. No schema: lockstep uses
 * the query builder, not the relational API, so the data layer knows no domain's tables. A module of its own, so
 * the client and the drivers it opens both name it without importing each other.
 */
export type Db = PgDatabase<NodePgQueryResultHKT>;
