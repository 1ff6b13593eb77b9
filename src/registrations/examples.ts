import { examples } from '../contract/examples';
import { eventExample } from '../events/examples';
import {
  CreatedRegistration,
  CreateRegistration,
  EventParams,
  EventStats,
  RegistrationListQuery,
  RegistrationPage,
  RegistrationParams,
  RegistrationView,
  TokenQuery,
  UpdateRegistration,
} from './contract';

/** Ada's registration for Node Meetup: the event is full, so she waits second in the queue. */
const registration = {
  id: '5c3e7a91-2b4d-4c6e-8f0a-1b3d5e7f9a2c',
  eventId: eventExample.id,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  spots: 2,
  status: 'WAITLIST' as const,
  waitlistPosition: 2,
  createdAt: '2027-02-01T09:00:00.000Z',
  updatedAt: '2027-02-01T09:00:00.000Z',
};
const cancelToken = 'ct_Jm4uQ0hW2bYx9sVt6kP1zR8nE3aL5cD7';

examples(CreateRegistration, { name: 'Ada Lovelace', email: 'ada@example.com', spots: 2 });
examples(UpdateRegistration, { status: 'CONFIRMED' });
examples(RegistrationView, registration);
examples(CreatedRegistration, { ...registration, cancelToken });
examples(RegistrationPage, { items: [registration], nextCursor: null });
examples(EventStats, { capacity: 50, spotsReserved: 50, confirmedSpots: 50, waitlistSpots: 3, waitlistCount: 2, cancelledCount: 1, consistent: true });
examples(EventParams, { slug: eventExample.slug });
examples(RegistrationParams, { slug: eventExample.slug, id: registration.id });
examples(RegistrationListQuery, { status: 'WAITLIST', limit: 20 });
examples(TokenQuery, { token: cancelToken });
