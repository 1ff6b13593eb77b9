import { sql } from 'drizzle-orm';

/**
 * Ends an EXISTS subquery that looks a batch's row up through an index, so it stays a lookup per row. Without it
 * the planner may turn the EXISTS into a hashed subplan, which reads every row the subquery could match (every key
 * recorded, every registration of the event) to build its hash table: it does when the table looked small as the
 * statement was planned, and a session's cached generic plan keeps that choice however large the table grows.
 */
export const EACH_ROW = sql.raw('offset 0');
