import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { QueryResult, QueryResultRow } from 'pg';
import { createHash } from 'node:crypto';
import { databaseConfig } from '../config';
import type { Db } from './handle';

/** Renders a statement's text and values as the drivers' sessions do, without a connection. */
const dialect = new PgDialect();

/**
 * Run a hot statement as a named prepared statement (unless DATABASE_PREPARED_STATEMENTS is false): Postgres parses
 * and plans its text once per connection, then binds only the values. Planning the registration statement cost
 * more than running it (docs/ticket-drop.md). The name is a digest of the text, so each shape of a statement is
 * prepared once per connection and never confused with another.
 */
export function executePrepared<T extends QueryResultRow>(db: Db, query: SQL): Promise<QueryResult<T>> {
  if (!databaseConfig().DATABASE_PREPARED_STATEMENTS) return db.execute(query) as Promise<QueryResult<T>>;
  const { sql: text, params } = dialect.sqlToQuery(query);
  const name = `lockstep_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
  return db._.session.prepareQuery({ sql: text, params }, undefined, name, false).execute() as Promise<QueryResult<T>>;
}
