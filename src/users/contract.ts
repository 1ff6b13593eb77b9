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
  .register(z.globalRegistry, { id: 'User' });

export const UpdateMe = z
  .strictObject({
    displayName: z.optional(z.nullable(z.string().check(z.trim(), z.minLength(1), z.maxLength(100)))),
    email: z.optional(z.nullable(z.email().check(z.maxLength(254)))),
  })
  .register(z.globalRegistry, { id: 'UpdateMe' });

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
  .register(z.globalRegistry, { id: 'Settings' });

/** PUT accepts the full document or any part of it; absent fields keep their value. */
export const UpdateSettings = z.partial(z.strictObject(SettingsView.shape)).register(z.globalRegistry, { id: 'UpdateSettings' });

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
