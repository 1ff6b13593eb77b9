import { sql, type SQL } from 'drizzle-orm';
import { columnNames } from '../db/columns';
import { literal, renderedOnce } from '../db/prepared';
import type { RegistrationView } from './contract';
import { registrations, type RegistrationRow } from './schema';

export type RowWithPosition = RegistrationRow & { waitlistPosition: number | null };

/**
 * One field of a registration's public view, both ways it is made: read from a row in TS, or written in SQL by the
 * statement that decides or changes the row, which knows it only inside the statement. `write` reads the row's
 * columns unqualified, and its place in the queue from `position`.
 */
interface ViewField<T> {
  read: (row: RowWithPosition) => T;
  write: (position: SQL) => SQL;
}

const column = (key: keyof typeof registrations.$inferSelect) => columnNames(registrations[key]);

const shown = <K extends 'id' | 'eventId' | 'spots' | 'status'>(key: K): ViewField<RegistrationRow[K]> => ({
  read: (row) => row[key],
  write: () => column(key),
});

/** Null in the statement's body, so a key's record holds them only sealed; the registration fills them in. */
const personal = (key: 'name' | 'email'): ViewField<string> => ({ read: (row) => row[key], write: () => sql`null` });

/** A timestamp as `Date#toISOString` writes it (UTC, milliseconds), in TS and in SQL alike. */
const time = (key: 'createdAt' | 'updatedAt'): ViewField<string> => ({
  read: (row) => row[key].toISOString(),
  write: () => sql`to_char(${column(key)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
});

/** The public view's fields, in its order: the one list both the TS mapper and the statement's JSON are built from. */
const viewFields: { [K in keyof RegistrationView]: ViewField<RegistrationView[K]> } = {
  id: shown('id'),
  eventId: shown('eventId'),
  name: personal('name'),
  email: personal('email'),
  spots: shown('spots'),
  status: shown('status'),
  waitlistPosition: {
    read: (row) => (row.status === 'WAITLIST' ? row.waitlistPosition : null),
    write: (position) => sql`case when ${column('status')} = 'WAITLIST' then ${position} end`,
  },
  createdAt: time('createdAt'),
  updatedAt: time('updatedAt'),
};

const fields = Object.entries(viewFields) as Array<[keyof RegistrationView, ViewField<unknown>]>;

export function registrationView(row: RowWithPosition): RegistrationView {
  return Object.fromEntries(fields.map(([name, field]) => [name, field.read(row)])) as RegistrationView;
}

/** The view as JSON text, built by the statement that knows the outcome (see ViewField), the row's place in the queue from `position`. */
export const viewJson = (position: SQL) =>
  renderedOnce(
    sql`json_build_object(${sql.join(
      fields.map(([name, field]) => sql`${literal(name)}, ${field.write(position)}`),
      sql`, `,
    )})::text`,
  );

/** The view of a row that moved: one that joins the queue is last in it, so its place is the `event` CTE's new waitlist length. */
export const registrationJson = viewJson(sql`(select waitlist_count from event)`);
