/**
 * The PostgreSQL majors lockstep runs on: 15 and newer (15, 16, 17 and 18 are tested, docs/postgres-versions.md).
 * An older server is refused once, with one sentence, before any work, instead of starting, migrating and then
 * failing request after request on what it lacks.
 */
export const OLDEST_SUPPORTED_MAJOR = 15;

/** The server's version is below the supported range; its message is the one sentence to show. */
export class UnsupportedPostgresError extends Error {
  override readonly name = 'UnsupportedPostgresError';
}

/** The query that reads what `checkServerVersion` needs; runs on any PostgreSQL. */
export const SERVER_VERSION_QUERY = `select current_setting('server_version_num')::int as num, current_setting('server_version') as version`;

/** Refuse a server older than OLDEST_SUPPORTED_MAJOR, given the row of SERVER_VERSION_QUERY. */
export function checkServerVersion(row: { num: number; version: string } | undefined): void {
  if (row === undefined || row.num >= OLDEST_SUPPORTED_MAJOR * 10_000) return;
  const version = row.version.split(' ')[0];
  throw new UnsupportedPostgresError(
    `PostgreSQL ${version} is not supported: lockstep needs PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or newer (15, 16, 17 and 18 are tested).`,
  );
}
