import { examples } from '../contract/examples';
import { SettingsView, UpdateMe, UpdateSettings, UserView } from './contract';

/** Alice: the organizer and card owner of the other examples. */
export const organizerId = '3f1c6a2e-8b4d-4f6a-9c1e-2d7b5a9e0c41';
export const defaultCardId = 'c4a6e8b0-2d4f-4a6c-9e1b-3d5f7a9c1e3b';

examples(UserView, { id: organizerId, sub: 'alice', email: 'alice@example.com', displayName: 'Alice', defaultCardId, createdAt: '2027-01-10T08:00:00.000Z' });
examples(UpdateMe, { displayName: 'Alice', email: 'alice@example.com' });
examples(SettingsView, { theme: 'dark', reducedMotion: false, fontScale: 1.25, locale: 'en' });
examples(UpdateSettings, { theme: 'dark', fontScale: 1.25 });
