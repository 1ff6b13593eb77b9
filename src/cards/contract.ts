import * as z from 'zod';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';
import { MAX_LINKS_PER_CARD } from './schema';

const Visibility = z.enum(['PUBLIC', 'UNLISTED', 'PRIVATE']).meta({
  id: 'CardVisibility',
  description: 'PUBLIC and UNLISTED cards are readable by anyone at GET /c/{slug}; PRIVATE only by the owner',
});

export const LinkInput = z
  .strictObject({
    label: z.string().trim().min(1).max(50),
    url: z.httpUrl().max(2048).meta({
      description:
        'Absolute http:// or https:// URL with a domain-name host, at most 2048 characters; javascript:, data:, ftp:, relative URLs, IP literals and localhost are refused',
    }),
  })
  .meta({ id: 'LinkInput' });

/** The whole ordered list of a card's links; the array order becomes `position` 0, 1, 2, ... */
export const LinksInput = z.array(LinkInput).max(MAX_LINKS_PER_CARD).meta({ id: 'LinksInput' });

const cardFields = {
  title: z.string().trim().min(1).max(100),
  description: z.string().max(280).nullable().optional(),
  visibility: Visibility,
};

export const CreateCard = z
  .strictObject({ ...cardFields, visibility: Visibility.default('PUBLIC'), links: LinksInput.default([]) })
  .meta({ id: 'CreateCard' });

export const UpdateCard = z.strictObject(cardFields).partial().meta({ id: 'UpdateCard' });

export const LinkView = z
  .object({
    id: z.uuid(),
    label: z.string(),
    url: z.string(),
    position: z.number().int().meta({ description: '0-based, unique within the card' }),
  })
  .meta({ id: 'Link' });

export const CardView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    visibility: Visibility,
    isDefault: z.boolean(),
    links: z.array(LinkView).meta({ description: 'In position order' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Card' });

export const CardPage = page(CardView).meta({ id: 'CardPage' });
export const CardIdParams = z.object({ id: z.uuid() });
export const CardSlugParams = z.object({ slug: SlugParam });
export const CardListQuery = PageQuery;

export type CreateCard = z.output<typeof CreateCard>;
export type UpdateCard = z.output<typeof UpdateCard>;
export type LinksInput = z.output<typeof LinksInput>;
export type CardView = z.infer<typeof CardView>;
export type LinkView = z.infer<typeof LinkView>;
