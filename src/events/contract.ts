import * as z from 'zod/mini';
import { page, PageQuery } from '../contract/page';
import { ExplicitSlug, SlugParam } from '../slug/contract';

/** ISO 8601 with an offset; years beyond what Postgres and JS dates share would otherwise fail at the database. */
const timestamp = z
  .pipe(
    z.iso.datetime({ offset: true }),
    z.transform((value: string) => new Date(value)),
  )
  .check(z.refine((date) => date.getUTCFullYear() >= 1900 && date.getUTCFullYear() <= 9999, 'Use a date between the years 1900 and 9999'));

const maxSpotsPerRegistration = z.int().check(z.minimum(1), z.maximum(100));

/** The fields of an event as clients send them; the import composes its event rows from these. */
export const eventFields = {
  name: z.string().check(z.trim(), z.minLength(3), z.maxLength(100)),
  description: z.optional(z.nullable(z.string().check(z.maxLength(5000)))),
  location: z.optional(z.nullable(z.string().check(z.maxLength(200)))),
  startsAt: timestamp,
  endsAt: z.optional(z.nullable(timestamp)),
  capacity: z.nullable(z.int().check(z.minimum(0), z.maximum(1_000_000))).register(z.globalRegistry, { description: 'null = unlimited' }),
  maxSpotsPerRegistration: z._default(maxSpotsPerRegistration, 10),
  slug: z.optional(ExplicitSlug).register(z.globalRegistry, { description: 'Taken as given (409 slug_taken when taken); derived from name when absent' }),
  teamSlug: z.optional(z.nullable(SlugParam)).register(z.globalRegistry, {
      description:
        "A team whose OWNER and ADMINs co-organize the event; the caller must be one of them (403 otherwise, 404 not_found for an unknown team). In PATCH, null detaches the event from its team",
    }),
};

/** An event's schema, refined so that endsAt, when given, is not before startsAt. */
export function withEndsNotBeforeStart<S extends z.ZodMiniType<{ startsAt: Date; endsAt?: Date | null }>>(schema: S): S {
  return schema.check(
    z.refine((event) => event.endsAt == null || event.endsAt >= event.startsAt, {
      message: 'endsAt must not be before startsAt',
      path: ['endsAt'],
    }),
  );
}

export const CreateEvent = withEndsNotBeforeStart(z.strictObject(eventFields)).register(z.globalRegistry, { id: 'CreateEvent' });

export const UpdateEvent = z
  .partial(
    z.strictObject({
      ...eventFields,
      maxSpotsPerRegistration,
      status: z.enum(['OPEN', 'CLOSED']),
    }),
  )
  .register(z.globalRegistry, { id: 'UpdateEvent' });

export const EventView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    description: z.nullable(z.string()),
    location: z.nullable(z.string()),
    startsAt: z.iso.datetime(),
    endsAt: z.nullable(z.iso.datetime()),
    capacity: z.nullable(z.int()),
    spotsReserved: z.int(),
    spotsLeft: z.nullable(z.int()).register(z.globalRegistry, { description: 'null when the capacity is unlimited' }),
    waitlistCount: z.int(),
    maxSpotsPerRegistration: z.int(),
    status: z.enum(['OPEN', 'CLOSED']),
    organizerId: z.uuid(),
    teamId: z.nullable(z.uuid()),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'Event' });

export const EventPage = page(EventView).register(z.globalRegistry, { id: 'EventPage' });
export const EventSlugParams = z.object({ slug: SlugParam });
export const EventListQuery = PageQuery;

export type CreateEvent = z.output<typeof CreateEvent>;
export type UpdateEvent = z.output<typeof UpdateEvent>;
export type EventView = z.infer<typeof EventView>;

/** The fields of an event created from another system's row (an import): no slug, team or spot limit. */
const { name, description, location, startsAt, endsAt, capacity } = eventFields;
export const ExternalEventFields = { name, description, location, startsAt, endsAt, capacity };
export type ExternalEventInput = z.output<z.ZodMiniObject<typeof ExternalEventFields>>;
