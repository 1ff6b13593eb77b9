import { sql } from 'drizzle-orm';

/**
 * Ends an EXISTS subquery that looks a batch's row up through an index, so it stays a lookup per row. Without it
 * the planner may turn the EXISTS into a hashed subplan, which reads every row the subquery could match (every key
 * recorded, every registration of the event) to build its hash table: it does when the table looked small as the
 * statement was planned, and a session's cached generic plan keeps that choice however large the table grows.
 */
export const EACH_ROW = sql.raw('offset 0');

/**
 * Every table through an index, for the plans made in the current transaction (a `set_config` expression: run it
 * first thing in each transaction whose statements a session keeps plans of). A session keeps a statement's generic
 * plan until the next ANALYZE of its tables: made while a table was small, the plan scans it whole, and goes on
 * doing so however large the table grows.
 */
export const INDEXES_ONLY = "set_config('enable_seqscan', 'off', true)";
