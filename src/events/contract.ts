import * as z from 'zod';
import { page, PageQuery } from '../contract/page';
import { ExplicitSlug, SlugParam } from '../slug/contract';

/** ISO 8601 with an offset; years beyond what Postgres and JS dates share would otherwise fail at the database. */
const timestamp = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .refine((date) => date.getUTCFullYear() >= 1900 && date.getUTCFullYear() <= 9999, 'Use a date between the years 1900 and 9999');

/** The fields of an event as clients send them; the import composes its event rows from these. */
export const eventFields = {
  name: z.string().trim().min(3).max(100),
  description: z.string().max(5000).nullable().optional(),
  location: z.string().max(200).nullable().optional(),
  startsAt: timestamp,
  endsAt: timestamp.nullable().optional(),
  capacity: z.number().int().min(0).max(1_000_000).nullable().meta({ description: 'null = unlimited' }),
  maxSpotsPerRegistration: z.number().int().min(1).max(100).default(10),
  slug: ExplicitSlug.optional().meta({ description: 'Taken as given (409 slug_taken when taken); derived from name when absent' }),
  teamSlug: SlugParam.nullable()
    .optional()
    .meta({
      description:
        "A team whose OWNER and ADMINs co-organize the event; the caller must be one of them (403 otherwise, 404 not_found for an unknown team). In PATCH, null detaches the event from its team",
    }),
};

/** An event's schema, refined so that endsAt, when given, is not before startsAt. */
export function withEndsNotBeforeStart<S extends z.ZodType<{ startsAt: Date; endsAt?: Date | null }>>(schema: S): S {
  return schema.refine((event) => event.endsAt == null || event.endsAt >= event.startsAt, {
    message: 'endsAt must not be before startsAt',
    path: ['endsAt'],
  });
}

export const CreateEvent = withEndsNotBeforeStart(z.strictObject(eventFields)).meta({ id: 'CreateEvent' });

export const UpdateEvent = z
  .strictObject({
    ...eventFields,
    maxSpotsPerRegistration: eventFields.maxSpotsPerRegistration.removeDefault(),
    status: z.enum(['OPEN', 'CLOSED']),
  })
  .partial()
  .meta({ id: 'UpdateEvent' });

export const EventView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    location: z.string().nullable(),
    startsAt: z.iso.datetime(),
    endsAt: z.iso.datetime().nullable(),
    capacity: z.number().int().nullable(),
    spotsReserved: z.number().int(),
    spotsLeft: z.number().int().nullable().meta({ description: 'null when the capacity is unlimited' }),
    waitlistCount: z.number().int(),
    maxSpotsPerRegistration: z.number().int(),
    status: z.enum(['OPEN', 'CLOSED']),
    organizerId: z.uuid(),
    teamId: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Event' });

export const EventPage = page(EventView).meta({ id: 'EventPage' });
export const EventSlugParams = z.object({ slug: SlugParam });
export const EventListQuery = PageQuery;

export type CreateEvent = z.output<typeof CreateEvent>;
export type UpdateEvent = z.output<typeof UpdateEvent>;
export type EventView = z.infer<typeof EventView>;

/** The fields of an event created from another system's row (an import): no slug, team or spot limit. */
const { name, description, location, startsAt, endsAt, capacity } = eventFields;
export const ExternalEventFields = { name, description, location, startsAt, endsAt, capacity };
export type ExternalEventInput = z.output<z.ZodObject<typeof ExternalEventFields>>;
