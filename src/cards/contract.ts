import * as z from 'zod/mini';
import { page, PageQuery } from '../contract/page';
import { SlugParam } from '../slug/contract';
import { MAX_LINKS_PER_CARD } from './schema';

const Visibility = z.enum(['PUBLIC', 'UNLISTED', 'PRIVATE']).register(z.globalRegistry, {
    id: 'CardVisibility',
    description: 'PUBLIC and UNLISTED cards are readable by anyone at GET /c/{slug}; PRIVATE only by the owner',
  });

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
export const LinksInput = z
  .array(LinkInput)
  .check(z.maxLength(MAX_LINKS_PER_CARD))
  .register(z.globalRegistry, {
    id: 'LinksInput',
    examples: [
      [
        { label: 'GitHub', url: 'https://github.com/alice' },
        { label: 'Blog', url: 'https://alice.example.com' },
      ],
    ],
  });

const cardFields = {
  title: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
  description: z.optional(z.nullable(z.string().check(z.maxLength(280)))),
  visibility: Visibility,
};

export const CreateCard = z
  .strictObject({ ...cardFields, visibility: z._default(Visibility, 'PUBLIC'), links: z._default(LinksInput, []) })
  .register(z.globalRegistry, {
    id: 'CreateCard',
    examples: [{ title: 'Alice', description: 'Backend engineer', links: [{ label: 'GitHub', url: 'https://github.com/alice' }] }],
  });

export const UpdateCard = z
  .partial(z.strictObject(cardFields))
  .register(z.globalRegistry, { id: 'UpdateCard', examples: [{ description: 'Backend engineer, Berlin', visibility: 'UNLISTED' }] });

export const LinkView = z
  .object({
    id: z.uuid(),
    label: z.string(),
    url: z.string(),
    position: z.int().register(z.globalRegistry, { description: '0-based, unique within the card' }),
  })
  .register(z.globalRegistry, { id: 'Link' });

/** The card the examples of the API reference show: Alice's default card. */
const cardExample = {
  id: 'c4a6e8b0-2d4f-4a6c-9e1b-3d5f7a9c1e3b',
  slug: 'alice',
  title: 'Alice',
  description: 'Backend engineer',
  visibility: 'PUBLIC' as const,
  isDefault: true,
  links: [{ id: 'e1f3a5c7-9b2d-4f6a-8c0e-2a4c6e8b0d1f', label: 'GitHub', url: 'https://github.com/alice', position: 0 }],
  createdAt: '2027-01-10T08:00:00.000Z',
  updatedAt: '2027-01-10T08:00:00.000Z',
};

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
  .register(z.globalRegistry, { id: 'Card', examples: [cardExample] });

export const CardPage = page(CardView).register(z.globalRegistry, { id: 'CardPage', examples: [{ items: [cardExample], nextCursor: null }] });
export const CardIdParams = z.object({ id: z.uuid() }).register(z.globalRegistry, { examples: [{ id: 'c4a6e8b0-2d4f-4a6c-9e1b-3d5f7a9c1e3b' }] });
export const CardSlugParams = z.object({ slug: SlugParam }).register(z.globalRegistry, { examples: [{ slug: 'alice' }] });
export const CardListQuery = PageQuery;

export type CreateCard = z.output<typeof CreateCard>;
export type UpdateCard = z.output<typeof UpdateCard>;
export type LinksInput = z.output<typeof LinksInput>;
export type CardView = z.infer<typeof CardView>;
export type LinkView = z.infer<typeof LinkView>;
