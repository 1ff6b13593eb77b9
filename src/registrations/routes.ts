import { defineRoute } from '../contract/route';
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

export const createRegistrationRoute = defineRoute({
  operationId: 'createRegistration',
  method: 'POST',
  path: '/events/{slug}/registrations',
  summary: 'Register for an event (no account needed)',
  description:
    'One SQL call: the registration is decided with the others that arrived with it, in arrival order: CONFIRMED only if the spots fit and nobody is waiting, else WAITLIST (strict FIFO). More spots than the whole capacity of the event: 409 capacity_exceeded (such a request could never leave the queue). The cancelToken is returned only here; only its hash is stored. With an Idempotency-Key the statement that decides the registration stores the key and the response (the cancelToken sealed under the key), so a retry replays it.',
  auth: 'none',
  params: EventParams,
  body: CreateRegistration,
  responses: { 201: CreatedRegistration },
  errors: ['event_closed', 'already_registered', 'capacity_exceeded', 'not_found'],
  idempotency: 'statement',
});

export const listRegistrationsRoute = defineRoute({
  operationId: 'listRegistrations',
  method: 'GET',
  path: '/events/{slug}/registrations',
  summary: 'Registrations of an event, in queue (arrival) order (organizer)',
  auth: 'required',
  params: EventParams,
  query: RegistrationListQuery,
  responses: { 200: RegistrationPage },
  errors: ['forbidden', 'not_found'],
});

export const getRegistrationRoute = defineRoute({
  operationId: 'getRegistration',
  method: 'GET',
  path: '/events/{slug}/registrations/{id}',
  summary: 'One registration (organizer, or ?token=<cancelToken>)',
  description: 'With ?token=, a wrong token answers 404 like a missing registration. The cancelToken is never returned again.',
  auth: 'optional',
  params: RegistrationParams,
  query: TokenQuery,
  responses: { 200: RegistrationView },
  errors: ['unauthorized', 'forbidden', 'not_found'],
});

export const updateRegistrationRoute = defineRoute({
  operationId: 'updateRegistration',
  method: 'PATCH',
  path: '/events/{slug}/registrations/{id}',
  summary: 'Confirm, waitlist or cancel a registration (organizer)',
  description:
    'CONFIRMED is capacity-checked (409 capacity_exceeded) and may pass the waitlist order. WAITLIST puts the registration at the end of the queue. Whenever spots free up, the waitlist is promoted in arrival order in the same transaction, so a demoted registration is confirmed again if the queue ahead of it is empty and it still fits. Reactivating a CANCELLED registration whose email has another active one answers 409 already_registered.',
  auth: 'required',
  params: RegistrationParams,
  body: UpdateRegistration,
  responses: { 200: RegistrationView },
  errors: ['capacity_exceeded', 'already_registered', 'forbidden', 'not_found'],
});

export const cancelRegistrationRoute = defineRoute({
  operationId: 'cancelRegistration',
  method: 'DELETE',
  path: '/events/{slug}/registrations/{id}',
  summary: 'Cancel a registration (organizer, or ?token=<cancelToken>)',
  description:
    'Frees its spots and promotes the waitlist in the same transaction. The row is kept with status CANCELLED (it counts in stats.cancelledCount); cancelling again answers 204.',
  auth: 'optional',
  params: RegistrationParams,
  query: TokenQuery,
  responses: { 204: null },
  errors: ['unauthorized', 'forbidden', 'not_found'],
});

export const eventStatsRoute = defineRoute({
  operationId: 'eventStats',
  method: 'GET',
  path: '/events/{slug}/stats',
  summary: 'Counters against the registration rows (organizer)',
  auth: 'required',
  params: EventParams,
  responses: { 200: EventStats },
  errors: ['forbidden', 'not_found'],
});
