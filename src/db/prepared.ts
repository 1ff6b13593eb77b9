import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { QueryResult, QueryResultRow } from 'pg';
import { createHash } from 'node:crypto';
import { databaseConfig } from '../config';
import type { Db } from './handle';

/** Renders a statement's text and values as the drivers' sessions do, without a connection. */
const dialect = new PgDialect();

/** Each statement text's name, digested once: a process runs a few shapes of a few statements. */
const names = new Map<string, string>();

/**
 * Run a hot statement as a named prepared statement (unless DATABASE_PREPARED_STATEMENTS is false): Postgres parses
 * and plans its text once per connection, then binds only the values. Planning the former one-shard registration
 * statement cost more than running it (docs/ticket-drop.md). The name is a digest of the text, so each shape of a
 * statement is prepared once per connection and never confused with another.
 */
export function executePrepared<T extends QueryResultRow>(db: Db, query: SQL): Promise<QueryResult<T>> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  return executePreparedText<T>(db, text, params);
}

/** `executePrepared` for a statement whose text was rendered once: only its values are bound on each call. */
export function executePreparedText<T extends QueryResultRow>(db: Db, text: string, params: unknown[]): Promise<QueryResult<T>> {
  let name: string | undefined;
  if (databaseConfig().DATABASE_PREPARED_STATEMENTS) {
    name = names.get(text);
    if (name === undefined) {
      name = `lockstep_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
      names.set(text, name);
    }
  }
  return db._.session.prepareQuery({ sql: text, params }, undefined, name, false).execute() as Promise<QueryResult<T>>;
}

/**
 * A fragment without values, rendered to its text once (at module load) instead of on every request: rendering a
 * hot statement's tree of columns and fragments cost the handler more CPU than anything else it does (profiled).
 */
export function renderedOnce(fragment: SQL): SQL {
  return sql.raw(renderedText(fragment));
}

/** A fragment without values as its text, for SQL that the database stores (a procedure's body). */
export function renderedText(fragment: SQL): string {
  const { sql: text, params } = dialect.sqlToQuery(fragment);
  if (params.length > 0) throw new Error('renderedText: the fragment holds values');
  return text;
}

/** A string literal for a fragment rendered once: a name the statement compares with, never client input. */
export const literal = (text: string): SQL => sql.raw(`'${text.replaceAll("'", "''")}'`);
