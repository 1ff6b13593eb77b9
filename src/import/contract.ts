import * as z from 'zod/mini';
import '../contract/zod-locale';
import { findInputProblem } from '../contract/input';
import { ExternalEventFields, withEndsNotBeforeStart } from '../events/contract';
import { CreateRegistration } from '../registrations/contract';


const ExternalId = z.string().check(z.trim(), z.minLength(1), z.maxLength(200));

/** An event row: the API's event fields (no slug, team or spot limit) plus its external id. */
export const ImportedEvent = withEndsNotBeforeStart(z.strictObject({ externalId: ExternalId, ...ExternalEventFields }));

/** A registration row: the API's registration body plus its own and its event's external ids. */
export const ImportedRegistration = z.extend(CreateRegistration, { eventExternalId: ExternalId, externalId: ExternalId });

export type ImportedEvent = z.output<typeof ImportedEvent>;
export type ImportedRegistration = z.output<typeof ImportedRegistration>;

export type ImportRow =
  | { kind: 'event'; row: ImportedEvent }
  | { kind: 'registration'; row: ImportedRegistration }
  | { kind: 'invalid'; externalId: string | undefined; reason: string };

/**
 * A row with an `eventExternalId` field is a registration; any other row is an event. Both schemas are strict, so a
 * row mixing the two kinds is refused for its unknown fields rather than half-read. `text` rows (CSV) are typed first.
 */
export function parseImportRow(fields: Record<string, unknown>, text: boolean): ImportRow {
  const isRegistration = fields.eventExternalId !== undefined && fields.eventExternalId !== '';
  // The API's input checks first: the rows go to the same services, which rely on them.
  const problem = findInputProblem(fields);
  if (problem) {
    const where = problem.path.join('.') || 'row';
    return { kind: 'invalid', externalId: externalIdOf(fields), reason: `${isRegistration ? 'registration' : 'event'} row: ${where}: ${problem.message}` };
  }
  const typed = text ? typeCells(fields, isRegistration) : fields;
  const parsed = isRegistration ? ImportedRegistration.safeParse(typed) : ImportedEvent.safeParse(typed);
  if (parsed.success) {
    return isRegistration
      ? { kind: 'registration', row: parsed.data as ImportedRegistration }
      : { kind: 'event', row: parsed.data as ImportedEvent };
  }
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`);
  return { kind: 'invalid', externalId: externalIdOf(fields), reason: `${isRegistration ? 'registration' : 'event'} row: ${problems.join('; ')}` };
}

const externalIdOf = (fields: Record<string, unknown>) =>
  typeof fields.externalId === 'string' ? fields.externalId.slice(0, 200) : undefined;

/**
 * CSV cells are text. An empty cell is an absent field, except an event's empty `capacity`, which means unlimited
 * (null); `capacity` and `spots` are read as integers when they look like one, else left for the schema to refuse.
 */
function typeCells(cells: Record<string, unknown>, isRegistration: boolean): Record<string, unknown> {
  const typed: Record<string, unknown> = {};
  for (const [column, cell] of Object.entries(cells)) {
    if (cell === '') {
      if (column === 'capacity' && !isRegistration) typed[column] = null;
    } else if ((column === 'capacity' || column === 'spots') && typeof cell === 'string' && /^-?\d{1,15}$/.test(cell)) {
      typed[column] = Number(cell);
    } else {
      typed[column] = cell;
    }
  }
  return typed;
}
