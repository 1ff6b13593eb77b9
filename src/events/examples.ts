import { examples } from '../contract/examples';
import { organizerId } from '../users/examples';
import { CreateEvent, EventListQuery, EventPage, EventSlugParams, EventView, UpdateEvent } from './contract';

/** Node Meetup, organized by Alice: full, two registrations waiting. */
export const eventExample = {
  id: '0b8e5f2a-6c1d-4e3f-a7b9-c2d4e6f8a0b1',
  slug: 'node-meetup',
  name: 'Node Meetup',
  description: null,
  location: 'Berlin',
  startsAt: '2027-03-01T18:00:00.000Z',
  endsAt: null,
  capacity: 50,
  spotsReserved: 50,
  spotsLeft: 0,
  waitlistCount: 2,
  maxSpotsPerRegistration: 4,
  status: 'OPEN' as const,
  organizerId,
  teamId: null,
  createdAt: '2027-01-15T10:00:00.000Z',
  updatedAt: '2027-02-01T09:00:00.000Z',
};

examples(CreateEvent, { name: 'Node Meetup', startsAt: '2027-03-01T18:00:00Z', location: 'Berlin', capacity: 50, maxSpotsPerRegistration: 4 });
examples(UpdateEvent, { capacity: 80 });
examples(EventView, eventExample);
examples(EventPage, { items: [eventExample], nextCursor: null });
examples(EventSlugParams, { slug: eventExample.slug });
examples(EventListQuery, { limit: 10 });
