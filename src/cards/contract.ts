import * as z from 'zod/mini';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';
import { MAX_LINKS_PER_CARD } from './schema';

const Visibility = z.enum(['PUBLIC', 'UNLISTED', 'PRIVATE']).register(z.globalRegistry, {
    id: 'CardVisibility',
    description: 'PUBLIC and UNLISTED cards are readable by anyone at GET /c/{slug}; PRIVATE only by the owner',
  });

export type CardVisibility = z.infer<typeof Visibility>;

export const LinkInput = z
  .strictObject({
    label: z.string().check(z.trim(), z.minLength(1), z.maxLength(50)),
    url: z.httpUrl().check(z.maxLength(2048)).register(z.globalRegistry, {
      description:
        'Absolute http:// or https:// URL with a domain-name host, at most 2048 characters; javascript:, data:, ftp:, relative URLs, IP literals and localhost are refused',
    }),
  })
  .register(z.globalRegistry, { id: 'LinkInput' });

/** The whole ordered list of a card's links; the array order becomes `position` 0, 1, 2, ... */
export const LinksInput = z.array(LinkInput).check(z.maxLength(MAX_LINKS_PER_CARD)).register(z.globalRegistry, { id: 'LinksInput' });

const cardFields = {
  title: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
  description: z.optional(z.nullable(z.string().check(z.maxLength(280)))),
  visibility: Visibility,
};

export const CreateCard = z
  .strictObject({ ...cardFields, visibility: z._default(Visibility, 'PUBLIC'), links: z._default(LinksInput, []) })
  .register(z.globalRegistry, { id: 'CreateCard' });

export const UpdateCard = z.partial(z.strictObject(cardFields)).register(z.globalRegistry, { id: 'UpdateCard' });

export const LinkView = z
  .object({
    id: z.uuid(),
    label: z.string(),
    url: z.string(),
    position: z.int().register(z.globalRegistry, { description: '0-based, unique within the card' }),
  })
  .register(z.globalRegistry, { id: 'Link' });

export const CardView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.nullable(z.string()),
    visibility: Visibility,
    isDefault: z.boolean(),
    links: z.array(LinkView).register(z.globalRegistry, { description: 'In position order' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, { id: 'Card' });

export const CardPage = page(CardView).register(z.globalRegistry, { id: 'CardPage' });
export const CardIdParams = z.object({ id: z.uuid() });
export const CardSlugParams = z.object({ slug: SlugParam });
export const CardListQuery = PageQuery;

export type CreateCard = z.output<typeof CreateCard>;
export type UpdateCard = z.output<typeof UpdateCard>;
export type LinksInput = z.output<typeof LinksInput>;
export type CardView = z.infer<typeof CardView>;
export type LinkView = z.infer<typeof LinkView>;
