import { defineRoute } from '../contract/route';
import {
  CardIdParams,
  CardListQuery,
  CardPage,
  CardSlugParams,
  CardView,
  CreateCard,
  LinksInput,
  UpdateCard,
} from './contract';

const OWNER_ONLY =
  "Owner only: someone else's card answers 404 not_found exactly like a missing one, so cards are not discoverable. An id that is not a UUID answers 400 validation_failed.";
const SLUGS =
  'A PUBLIC card\'s slug is derived from its title (title, title-2, ...); an UNLISTED or PRIVATE card\'s slug is 32 random hex characters (128 bits), so it cannot be guessed from the title.';
const LINK_POSITIONS = 'Links keep the given order: `position` is the 0-based array index, unique per card in the database.';

export const createCardRoute = defineRoute({
  operationId: 'createCard',
  method: 'POST',
  path: '/cards',
  summary: 'Create a card for the caller',
  description: `The user's first card becomes the default, decided inside a transaction that locks the user's row, so concurrent first cards still give exactly one default (the oldest). ${SLUGS} ${LINK_POSITIONS}`,
  auth: 'required',
  body: CreateCard,
  responses: { 201: CardView },
  errors: ['validation_failed', 'unauthorized'],
});

export const listCardsRoute = defineRoute({
  operationId: 'listCards',
  method: 'GET',
  path: '/cards',
  summary: "The caller's cards, oldest first",
  description: 'Ordered by createdAt, then id; keyset-paginated, so pages stay stable under concurrent creates.',
  auth: 'required',
  query: CardListQuery,
  responses: { 200: CardPage },
  errors: ['validation_failed', 'unauthorized'],
});

export const getCardRoute = defineRoute({
  operationId: 'getCard',
  method: 'GET',
  path: '/cards/{id}',
  summary: 'Get one of your cards, whatever its visibility',
  description: OWNER_ONLY,
  auth: 'required',
  params: CardIdParams,
  responses: { 200: CardView },
  errors: ['validation_failed', 'unauthorized', 'not_found'],
});

export const getPublicCardRoute = defineRoute({
  operationId: 'getPublicCard',
  method: 'GET',
  path: '/c/{slug}',
  summary: 'Read a PUBLIC or UNLISTED card by its slug, without authentication',
  description:
    'A PRIVATE card answers 404 not_found with the same body as a missing card, so it is not discoverable; this holds for its owner too, who reads it at GET /cards/{id}.',
  auth: 'none',
  params: CardSlugParams,
  responses: { 200: CardView },
  errors: ['not_found'],
});

export const updateCardRoute = defineRoute({
  operationId: 'updateCard',
  method: 'PATCH',
  path: '/cards/{id}',
  summary: 'Change the title, description or visibility of your card; null clears the description',
  description: `${OWNER_ONLY} A change between PUBLIC and UNLISTED or PRIVATE gives the card a new slug of the other kind, and the old slug stops working (GET /c/{old} answers 404): a once-public slug never finds a card that is no longer public. Between UNLISTED and PRIVATE the slug stays; a title change alone never changes it. ${SLUGS}`,
  auth: 'required',
  params: CardIdParams,
  body: UpdateCard,
  responses: { 200: CardView },
  errors: ['validation_failed', 'unauthorized', 'not_found'],
});

export const replaceCardLinksRoute = defineRoute({
  operationId: 'replaceCardLinks',
  method: 'PUT',
  path: '/cards/{id}/links',
  summary: "Replace all of your card's links with the given list",
  description: `The body is the whole ordered list (at most 20; [] removes all). It replaces the stored list all-or-nothing, in one transaction that locks the card row first: concurrent replacements apply one after another and the stored list is always exactly one of them. ${LINK_POSITIONS} ${OWNER_ONLY}`,
  auth: 'required',
  params: CardIdParams,
  body: LinksInput,
  responses: { 200: CardView },
  errors: ['validation_failed', 'unauthorized', 'not_found'],
});

export const setDefaultCardRoute = defineRoute({
  operationId: 'setDefaultCard',
  method: 'POST',
  path: '/cards/{id}/default',
  summary: 'Make your card the default',
  description: `The old default is cleared and the new one set in one transaction; a partial unique index allows at most one default per user. ${OWNER_ONLY}`,
  auth: 'required',
  params: CardIdParams,
  responses: { 200: CardView },
  errors: ['validation_failed', 'unauthorized', 'not_found'],
});

export const deleteCardRoute = defineRoute({
  operationId: 'deleteCard',
  method: 'DELETE',
  path: '/cards/{id}',
  summary: 'Delete your card',
  description: `A deleted default passes to the oldest remaining card in the same transaction. Your last card cannot be deleted: 409 last_card. ${OWNER_ONLY}`,
  auth: 'required',
  params: CardIdParams,
  responses: { 204: null },
  errors: ['validation_failed', 'unauthorized', 'not_found', 'last_card'],
});
