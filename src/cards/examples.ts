import { examples } from '../contract/examples';
import { defaultCardId } from '../users/examples';
import { CardIdParams, CardPage, CardSlugParams, CardView, CreateCard, LinksInput, UpdateCard } from './contract';

/** Alice's default card. */
const card = {
  id: defaultCardId,
  slug: 'alice',
  title: 'Alice',
  description: 'Backend engineer',
  visibility: 'PUBLIC' as const,
  isDefault: true,
  links: [{ id: 'e1f3a5c7-9b2d-4f6a-8c0e-2a4c6e8b0d1f', label: 'GitHub', url: 'https://github.com/alice', position: 0 }],
  createdAt: '2027-01-10T08:00:00.000Z',
  updatedAt: '2027-01-10T08:00:00.000Z',
};

examples(CreateCard, { title: 'Alice', description: 'Backend engineer', links: [{ label: 'GitHub', url: 'https://github.com/alice' }] });
examples(UpdateCard, { description: 'Backend engineer, Berlin', visibility: 'UNLISTED' });
examples(LinksInput, [
  { label: 'GitHub', url: 'https://github.com/alice' },
  { label: 'Blog', url: 'https://alice.example.com' },
]);
examples(CardView, card);
examples(CardPage, { items: [card], nextCursor: null });
examples(CardIdParams, { id: card.id });
examples(CardSlugParams, { slug: card.slug });
