import { defineRoute } from '../contract/route';
import { CreateEvent, EventListQuery, EventPage, EventSlugParams, EventView, UpdateEvent } from './contract';

export const createEventRoute = defineRoute({
  operationId: 'createEvent',
  method: 'POST',
  path: '/events',
  summary: 'Create an event; the caller is its organizer',
  description:
    "The slug is derived from the name (name, name-2, name-3, ... without bound) unless an explicit `slug` is given, which is used as-is or refused with 409 slug_taken. With `teamSlug` the caller must be the team's OWNER or ADMIN (403 forbidden otherwise; an unknown team is 404 not_found with a `teamSlug` field error), and the team's OWNER and ADMINs co-organize the event: they may change and delete it like the organizer.",
  auth: 'required',
  body: CreateEvent,
  responses: { 201: EventView },
  errors: ['validation_failed', 'slug_taken', 'unauthorized', 'forbidden', 'not_found'],
});

export const listEventsRoute = defineRoute({
  operationId: 'listEvents',
  method: 'GET',
  path: '/events',
  summary: 'List OPEN events, soonest startsAt first',
  auth: 'none',
  query: EventListQuery,
  responses: { 200: EventPage },
});

export const getEventRoute = defineRoute({
  operationId: 'getEvent',
  method: 'GET',
  path: '/events/{slug}',
  summary: 'Get one event',
  auth: 'none',
  params: EventSlugParams,
  responses: { 200: EventView },
  errors: ['not_found'],
});

export const updateEventRoute = defineRoute({
  operationId: 'updateEvent',
  method: 'PATCH',
  path: '/events/{slug}',
  summary: "Change an event (organizer, or the OWNER and ADMINs of the event's team)",
  description:
    "A capacity below spotsReserved is refused with 409 capacity_below_reserved, and one below the spots of a waiting registration (which could then never be promoted) with 409 capacity_below_waiting; a new slug must be free. `teamSlug` attaches the event to a team the caller is OWNER or ADMIN of (403 otherwise, 404 not_found for an unknown team); `teamSlug: null` detaches it, after which only the organizer manages it.",
  auth: 'required',
  params: EventSlugParams,
  body: UpdateEvent,
  responses: { 200: EventView },
  errors: ['validation_failed', 'capacity_below_reserved', 'capacity_below_waiting', 'slug_taken', 'forbidden', 'not_found'],
});

export const deleteEventRoute = defineRoute({
  operationId: 'deleteEvent',
  method: 'DELETE',
  path: '/events/{slug}',
  summary: "Delete an event and its registrations (organizer, or the OWNER and ADMINs of the event's team)",
  auth: 'required',
  params: EventSlugParams,
  responses: { 204: null },
  errors: ['forbidden', 'not_found'],
});
