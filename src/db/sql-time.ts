import { sql, type SQL } from 'drizzle-orm';

/** now() moved by `ms` milliseconds (earlier when negative): times are the database's, whatever the Lambda's clock says. */
export const nowPlusMs = (ms: number): SQL => sql`(now() + ${Math.round(ms)}::bigint * interval '1 millisecond')`;
