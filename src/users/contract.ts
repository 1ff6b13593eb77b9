import * as z from 'zod';

export const UserView = z
  .object({
    id: z.uuid(),
    sub: z.string(),
    email: z.string().nullable(),
    displayName: z.string().nullable(),
    defaultCardId: z.uuid().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });

export const UpdateMe = z
  .strictObject({
    displayName: z.string().trim().min(1).max(100).nullable().optional(),
    email: z.email().max(254).nullable().optional(),
  })
  .meta({ id: 'UpdateMe' });

const locale = z
  .string()
  .max(35)
  .refine(
    (value) => {
      try {
        return Intl.getCanonicalLocales(value).length === 1;
      } catch {
        return false;
      }
    },
    { message: 'Invalid BCP 47 locale' },
  );

export const SettingsView = z
  .object({
    theme: z.enum(['system', 'light', 'dark']),
    reducedMotion: z.boolean(),
    fontScale: z.number().min(0.5).max(3),
    locale,
  })
  .meta({ id: 'Settings' });

/** PUT accepts the full document or any part of it; absent fields keep their value. */
export const UpdateSettings = SettingsView.partial().strict().meta({ id: 'UpdateSettings' });

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
