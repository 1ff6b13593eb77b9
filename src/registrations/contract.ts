import * as z from 'zod/mini';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';

const status = z.enum(['CONFIRMED', 'WAITLIST', 'CANCELLED']);

/** The registration the examples of the API reference show: Ada's, waiting second in the queue. */
const registrationExample = {
  id: '5c3e7a91-2b4d-4c6e-8f0a-1b3d5e7f9a2c',
  eventId: '0b8e5f2a-6c1d-4e3f-a7b9-c2d4e6f8a0b1',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  spots: 2,
  status: 'WAITLIST' as const,
  waitlistPosition: 2,
  createdAt: '2027-02-01T09:00:00.000Z',
  updatedAt: '2027-02-01T09:00:00.000Z',
};

export const CreateRegistration = z
  .strictObject({
    name: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
    email: z.email().check(z.maxLength(254)),
    spots: z._default(z.int().check(z.minimum(1), z.maximum(100)), 1).register(z.globalRegistry, {
      description: "1..the event's maxSpotsPerRegistration (400 above it)",
    }),
  })
  .register(z.globalRegistry, { id: 'CreateRegistration', examples: [{ name: 'Ada Lovelace', email: 'ada@example.com', spots: 2 }] });

export const UpdateRegistration = z
  .strictObject({ status })
  .register(z.globalRegistry, { id: 'UpdateRegistration', examples: [{ status: 'CONFIRMED' }] });

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
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'Registration', examples: [registrationExample] });

export const CreatedRegistration = z
  .extend(RegistrationView, {
    cancelToken: z.string().register(z.globalRegistry, { description: 'Returned once; keep it to view or cancel the registration' }),
  })
  .register(z.globalRegistry, { id: 'CreatedRegistration', examples: [{ ...registrationExample, cancelToken: 'ct_Jm4uQ0hW2bYx9sVt6kP1zR8nE3aL5cD7' }] });

export const RegistrationPage = page(RegistrationView).register(z.globalRegistry, {
  id: 'RegistrationPage',
  examples: [{ items: [registrationExample], nextCursor: null }],
});

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
  .register(z.globalRegistry, {
    id: 'EventStats',
    examples: [{ capacity: 50, spotsReserved: 50, confirmedSpots: 50, waitlistSpots: 3, waitlistCount: 2, cancelledCount: 1, consistent: true }],
  });

export const EventParams = z.object({ slug: SlugParam }).register(z.globalRegistry, { examples: [{ slug: 'node-meetup' }] });
export const RegistrationParams = z
  .object({ slug: SlugParam, id: z.uuid() })
  .register(z.globalRegistry, { examples: [{ slug: 'node-meetup', id: '5c3e7a91-2b4d-4c6e-8f0a-1b3d5e7f9a2c' }] });
export const RegistrationListQuery = z
  .extend(PageQuery, { status: z.optional(status) })
  .register(z.globalRegistry, { examples: [{ status: 'WAITLIST', limit: 20 }] });
export const TokenQuery = z
  .object({ token: z.optional(z.string().check(z.minLength(1), z.maxLength(200))) })
  .register(z.globalRegistry, { examples: [{ token: 'ct_Jm4uQ0hW2bYx9sVt6kP1zR8nE3aL5cD7' }] });

export type CreateRegistration = z.output<typeof CreateRegistration>;
export type RegistrationView = z.infer<typeof RegistrationView>;
export type CreatedRegistration = z.infer<typeof CreatedRegistration>;
export type EventStats = z.infer<typeof EventStats>;
