import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as getMe } from '../../functions/me-get';
import { handler as updateMe } from '../../functions/me-update';
import { handler as getSettings } from '../../functions/settings-get';
import { handler as updateSettings } from '../../functions/settings-update';
import { call, token } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';

const sql = sqlClient();
const count = async (table: string) => Number((await sql(`select count(*) from ${table}`))[0]!.count);

beforeEach(async () => {
  await emptyTables(sql, 'users');
});

describe('get-or-create of the caller', () => {
  it('50 concurrent first requests of a new sub: all 200, one user row', async () => {
    const bearer = await token('newcomer', { email: 'new@example.com', name: 'New Comer' });
    const responses = await Promise.all(Array.from({ length: 50 }, () => call(getMe, { as: { token: bearer } })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    const rows = await sql(`select * from users where sub = 'newcomer'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email: 'new@example.com', display_name: 'New Comer' });
    expect(responses[0]!.body).toMatchObject({ sub: 'newcomer', email: 'new@example.com', defaultCardId: null });
  });

  it('50 concurrent first reads of settings: all 200 with defaults, one settings row', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => call(getSettings, { as: 'fresh' })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    for (const res of responses) {
      expect(res.body).toEqual({ theme: 'system', reducedMotion: false, fontScale: 1, locale: 'en' });
    }
    expect(await count('users')).toBe(1);
    expect(await count('user_settings')).toBe(1);
  });
});

describe('PATCH /me', () => {
  it('changes and clears fields', async () => {
    const res = await call(updateMe, { as: 'pat', body: { displayName: 'Pat', email: 'pat@example.com' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ displayName: 'Pat', email: 'pat@example.com' });
    const cleared = await call(updateMe, { as: 'pat', body: { email: null } });
    expect(cleared.body).toMatchObject({ displayName: 'Pat', email: null });
  });

  it('rejects a bad email with 400 and changes nothing', async () => {
    await call(updateMe, { as: 'pat', body: { displayName: 'Pat' } });
    const res = await call(updateMe, { as: 'pat', body: { email: 'not-an-email', displayName: 'Changed' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'email', message: expect.any(String) }]);
    expect((await sql(`select display_name from users`))[0]!.display_name).toBe('Pat');
  });
});

describe('PUT /me/settings', () => {
  it('accepts partial and full documents', async () => {
    const partial = await call(updateSettings, { as: 'sam', body: { theme: 'dark' } });
    expect(partial.status).toBe(200);
    expect(partial.body).toEqual({ theme: 'dark', reducedMotion: false, fontScale: 1, locale: 'en' });
    const full = { theme: 'light', reducedMotion: true, fontScale: 1.25, locale: 'de-DE' };
    expect((await call(updateSettings, { as: 'sam', body: full })).body).toEqual(full);
    expect((await call(getSettings, { as: 'sam' })).body).toEqual(full);
  });

  it.each([
    [{ fontScale: 3.5 }, 'fontScale'],
    [{ fontScale: 0.4 }, 'fontScale'],
    [{ theme: 'neon' }, 'theme'],
    [{ reducedMotion: 'yes' }, 'reducedMotion'],
    [{ locale: 'not a locale!' }, 'locale'],
    [{ colour: 'red' }, ''],
  ])('rejects %j with 400 and changes nothing', async (body, path) => {
    await call(updateSettings, { as: 'sam', body: { theme: 'dark' } });
    const res = await call(updateSettings, { as: 'sam', body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors[0].path).toBe(path);
    expect((await sql(`select theme, font_scale from user_settings`))[0]).toEqual({ theme: 'dark', font_scale: 1 });
  });
});

describe('authentication', () => {
  const secret = process.env.AUTH_JWT_SECRET ?? '';
  const unsigned = (sub: string) =>
    `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 600 }),
    ).toString('base64url')}.`;

  it.each([
    ['no token', {}],
    ['not a bearer', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }],
    ['garbage', { headers: { authorization: 'Bearer not.a.jwt' } }],
    ['alg none', { headers: { authorization: `Bearer ${unsigned('eve')}` } }],
  ])('%s → 401 unauthorized, no user created', async (_, request) => {
    const res = await call(getMe, request);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await count('users')).toBe(0);
  });

  it('accepts the scheme in any case', async () => {
    const res = await call(getMe, { headers: { authorization: `bearer ${await token('casual')}` } });
    expect(res.status).toBe(200);
  });

  it('an expired token → 401', async () => {
    const res = await call(getMe, { as: { token: await token('eve', { expiresIn: -60 }) } });
    expect(res.status).toBe(401);
    expect(await count('users')).toBe(0);
  });

  it('a token without exp (good forever) → 401', async () => {
    const forever = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('eve').setIssuedAt().sign(new TextEncoder().encode(secret));
    const res = await call(getMe, { as: { token: forever } });
    expect(res.status).toBe(401);
    expect(await count('users')).toBe(0);
  });

  it('a token signed with another secret → 401', async () => {
    const forged = await token('eve', {}, `${secret}-but-different`);
    const res = await call(getMe, { as: { token: forged } });
    expect(res.status).toBe(401);
    expect(await count('users')).toBe(0);
  });

  it('a forged token on a write → 401 and nothing written', async () => {
    const forged = await token('eve', {}, 'another-secret-that-is-long-enough-123');
    const res = await call(updateSettings, { as: { token: forged }, body: { theme: 'dark' } });
    expect(res.status).toBe(401);
    expect(await count('user_settings')).toBe(0);
  });
});
