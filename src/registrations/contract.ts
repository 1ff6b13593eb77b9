import * as z from 'zod';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';

const status = z.enum(['CONFIRMED', 'WAITLIST', 'CANCELLED']);

export const CreateRegistration = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    email: z.email().max(254),
    spots: z.number().int().min(1).max(100).default(1).meta({
      description: "1..the event's maxSpotsPerRegistration (400 above it)",
    }),
  })
  .meta({ id: 'CreateRegistration' });

export const UpdateRegistration = z
  .strictObject({ status })
  .meta({ id: 'UpdateRegistration' });

export const RegistrationView = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    name: z.string(),
    email: z.string(),
    spots: z.number().int(),
    status,
    waitlistPosition: z.number().int().min(1).nullable().meta({ description: '1-based place in the waitlist; null unless WAITLIST' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Registration' });

export const CreatedRegistration = RegistrationView.extend({
  cancelToken: z.string().meta({ description: 'Returned once; keep it to view or cancel the registration' }),
}).meta({ id: 'CreatedRegistration' });

export const RegistrationPage = page(RegistrationView).meta({ id: 'RegistrationPage' });

export const EventStats = z
  .object({
    capacity: z.number().int().nullable(),
    spotsReserved: z.number().int(),
    confirmedSpots: z.number().int().meta({ description: 'Σ spots of CONFIRMED registrations, summed from the rows' }),
    waitlistSpots: z.number().int(),
    waitlistCount: z.number().int(),
    cancelledCount: z.number().int(),
    consistent: z.boolean().meta({ description: 'spotsReserved == confirmedSpots' }),
  })
  .meta({ id: 'EventStats' });

export const EventParams = z.object({ slug: SlugParam });
export const RegistrationParams = z.object({ slug: SlugParam, id: z.uuid() });
export const RegistrationListQuery = PageQuery.extend({ status: status.optional() });
export const TokenQuery = z.object({ token: z.string().min(1).max(200).optional() });

export type CreateRegistration = z.output<typeof CreateRegistration>;
export type RegistrationView = z.infer<typeof RegistrationView>;
export type CreatedRegistration = z.infer<typeof CreatedRegistration>;
export type EventStats = z.infer<typeof EventStats>;
