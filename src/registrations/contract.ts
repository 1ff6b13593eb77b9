import * as z from 'zod/mini';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';

const status = z.enum(['CONFIRMED', 'WAITLIST', 'CANCELLED']);

export const CreateRegistration = z
  .strictObject({
    name: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
    email: z.email().check(z.maxLength(254)),
    spots: z._default(z.int().check(z.minimum(1), z.maximum(100)), 1).register(z.globalRegistry, {
      description: "1..the event's maxSpotsPerRegistration (400 above it)",
    }),
  })
  .register(z.globalRegistry, { id: 'CreateRegistration' });

export const UpdateRegistration = z.strictObject({ status }).register(z.globalRegistry, { id: 'UpdateRegistration' });

export const RegistrationView = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    name: z.string(),
    email: z.string(),
    spots: z.int(),
    status,
    waitlistPosition: z
      .nullable(z.int().check(z.minimum(1)))
      .register(z.globalRegistry, { description: '1-based place in the waitlist; null unless WAITLIST' }),
    createdAt: z.iso.datetime().register(z.globalRegistry, {
      description: 'Arrival: when the registration took its place in the queue (again when moved to the WAITLIST); follows the queue order of the list',
    }),
    updatedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'Registration' });

export const CreatedRegistration = z
  .extend(RegistrationView, {
    cancelToken: z.string().register(z.globalRegistry, { description: 'Returned once; keep it to view or cancel the registration' }),
  })
  .register(z.globalRegistry, { id: 'CreatedRegistration' });

export const RegistrationPage = page(RegistrationView).register(z.globalRegistry, { id: 'RegistrationPage' });

export const EventStats = z
  .object({
    capacity: z.nullable(z.int()),
    spotsReserved: z.int(),
    confirmedSpots: z.int().register(z.globalRegistry, { description: 'Σ spots of CONFIRMED registrations, summed from the rows' }),
    waitlistSpots: z.int(),
    waitlistCount: z.int(),
    cancelledCount: z.int(),
    consistent: z.boolean().register(z.globalRegistry, { description: 'spotsReserved == confirmedSpots' }),
  })
  .register(z.globalRegistry, { id: 'EventStats' });

export const EventParams = z.object({ slug: SlugParam });
export const RegistrationParams = z.object({ slug: SlugParam, id: z.uuid() });
export const RegistrationListQuery = z.extend(PageQuery, { status: z.optional(status) });
export const TokenQuery = z.object({ token: z.optional(z.string().check(z.minLength(1), z.maxLength(200))) });

export type CreateRegistration = z.output<typeof CreateRegistration>;
export type RegistrationView = z.infer<typeof RegistrationView>;
export type CreatedRegistration = z.infer<typeof CreatedRegistration>;
export type EventStats = z.infer<typeof EventStats>;
