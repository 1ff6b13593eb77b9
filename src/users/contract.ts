import * as z from 'zod/mini';

export const UserView = z
  .object({
    id: z.uuid(),
    sub: z.string(),
    email: z.nullable(z.string()),
    displayName: z.nullable(z.string()),
    defaultCardId: z.nullable(z.uuid()),
    createdAt: z.iso.datetime(),
  })
  .register(z.globalRegistry, {
    id: 'User',
    examples: [
      {
        id: '3f1c6a2e-8b4d-4f6a-9c1e-2d7b5a9e0c41',
        sub: 'alice',
        email: 'alice@example.com',
        displayName: 'Alice',
        defaultCardId: 'c4a6e8b0-2d4f-4a6c-9e1b-3d5f7a9c1e3b',
        createdAt: '2027-01-10T08:00:00.000Z',
      },
    ],
  });

export const UpdateMe = z
  .strictObject({
    displayName: z.optional(z.nullable(z.string().check(z.trim(), z.minLength(1), z.maxLength(100)))),
    email: z.optional(z.nullable(z.email().check(z.maxLength(254)))),
  })
  .register(z.globalRegistry, { id: 'UpdateMe', examples: [{ displayName: 'Alice', email: 'alice@example.com' }] });

const locale = z.string().check(
  z.maxLength(35),
  z.refine(
    (value) => {
      try {
        return Intl.getCanonicalLocales(value).length === 1;
      } catch {
        return false;
      }
    },
    { message: 'Invalid BCP 47 locale' },
  ),
);

export const SettingsView = z
  .object({
    theme: z.enum(['system', 'light', 'dark']),
    reducedMotion: z.boolean(),
    fontScale: z.number().check(z.minimum(0.5), z.maximum(3)),
    locale,
  })
  .register(z.globalRegistry, { id: 'Settings', examples: [{ theme: 'dark', reducedMotion: false, fontScale: 1.25, locale: 'en' }] });

/** PUT accepts the full document or any part of it; absent fields keep their value. */
export const UpdateSettings = z
  .partial(z.strictObject(SettingsView.shape))
  .register(z.globalRegistry, { id: 'UpdateSettings', examples: [{ theme: 'dark', fontScale: 1.25 }] });

export type UserView = z.infer<typeof UserView>;
export type SettingsView = z.infer<typeof SettingsView>;
export type UpdateMe = z.infer<typeof UpdateMe>;
export type UpdateSettings = z.infer<typeof UpdateSettings>;

/** The caller as a verified token names them: what get-or-create needs to find or make their user row. */
export interface Identity {
  sub: string;
  email?: string;
  name?: string;
}
