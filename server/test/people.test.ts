import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticIdCardNo } from '@ccm/simulators';
import {
  A,
  B,
  expectMatrix,
  startTestServer,
  type StatusMatrix,
  type TestServer,
  type TestUser,
} from './support';

/**
 * Jurisdictions, users and subjects: for every route, what each test user gets on an entity
 * of side A (450103 / 450103001), what side B never sees, validation, masking, audit, pages.
 */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s?.close());

/** Runs `request(user)` for every test user and compares the statuses all at once. */
/** The shared access matrix, for requests given as inject options. */
const expectMatrixOf = (
  expected: StatusMatrix,
  request: (user: TestUser, i: number) => InjectOptions,
) => expectMatrix(expected, (user, i) => s.as(user, request(user, i)));

const json = <T = Record<string, unknown>>(res: { body: string }) => JSON.parse(res.body) as T;

/** Follows `nextCursor` to the end; returns every page's item ids in order. */
async function walk(user: TestUser, url: string, idOf: (item: Record<string, unknown>) => string) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 50; guard++) {
    const sep = url.includes('?') ? '&' : '?';
    const res = await s.as(user, {
      url: `${url}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`,
    });
    expect(res.statusCode).toBe(200);
    const body = json<{ items: Record<string, unknown>[]; nextCursor: string | null }>(res);
    ids.push(...body.items.map(idOf));
    sizes.push(body.items.length);
    cursor = body.nextCursor;
    if (!cursor) return { ids, sizes };
  }
  throw new Error('pagination did not end');
}

async function auditActions(action: string, resourceId?: string) {
  let q = s.db.selectFrom('audit_log').selectAll().where('action', '=', action);
  if (resourceId) q = q.where('resource_id', '=', resourceId);
  return q.execute();
}

// ───────────────────────────── jurisdictions ─────────────────────────────

describe('jurisdictions', () => {
  it('list: everyone but police, each sees only their node and below', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 200,
        bureauB: 200,
        policeB: 403,
        auditorB: 200,
        officerB: 200,
      },
      () => ({ url: '/api/v1/jurisdictions?limit=500' }),
    );
    const codes = async (u: TestUser) =>
      json<{ items: { code: string }[] }>(
        await s.as(u, { url: '/api/v1/jurisdictions?limit=500' }),
      ).items.map((j) => j.code);
    expect(await codes('officerA')).toEqual([A.township]);
    expect(await codes('bureauA')).toEqual([A.county, A.township]);
    for (const u of ['bureauB', 'auditorB', 'officerB'] as const) {
      const seen = await codes(u);
      expect(seen).not.toContain(A.county);
      expect(seen).not.toContain(A.township);
      expect(seen.length).toBeGreaterThan(0);
    }
    const all = await codes('admin');
    expect(all).toEqual(expect.arrayContaining(['450000', '450100', A.county, B.township]));
  });

  it('list filters by parentCode and level', async () => {
    const res = await s.as('admin', { url: '/api/v1/jurisdictions?parentCode=450100' });
    expect(json<{ items: { code: string }[] }>(res).items.map((j) => j.code)).toEqual([
      A.county,
      B.county,
    ]);
    const towns = await s.as('bureauA', { url: '/api/v1/jurisdictions?level=township' });
    expect(json<{ items: { code: string }[] }>(towns).items.map((j) => j.code)).toEqual([
      A.township,
    ]);
    const bad = await s.as('admin', { url: '/api/v1/jurisdictions?level=village' });
    expect(bad.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(bad).error.message).toContain('level');
  });

  it('get: 404 outside scope, 403 for police, 400 for a malformed code', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 200,
        bureauB: 404,
        policeB: 403,
        auditorB: 404,
        officerB: 404,
      },
      () => ({ url: `/api/v1/jurisdictions/${A.township}` }),
    );
    const one = json(await s.as('officerA', { url: `/api/v1/jurisdictions/${A.township}` }));
    expect(one).toMatchObject({
      code: A.township,
      parentCode: A.county,
      level: 'township',
      path: `450000.450100.${A.county}.${A.township}`,
    });
    expect((await s.as('admin', { url: '/api/v1/jurisdictions/450199' })).statusCode).toBe(404);
    const bad = await s.as('admin', { url: '/api/v1/jurisdictions/45x' });
    expect(bad.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(bad).error.message).toContain('code');
  });

  it('create: admin only; computes path and level; audited', async () => {
    await expectMatrixOf(
      {
        admin: 201,
        bureauA: 403,
        policeA: 403,
        auditorA: 403,
        officerA: 403,
        bureauB: 403,
        policeB: 403,
        auditorB: 403,
        officerB: 403,
      },
      (_u, i) => ({
        method: 'POST',
        url: '/api/v1/jurisdictions',
        payload: { code: `${A.county}${100 + i}`, parentCode: A.county, nameZh: `测试司法所${i}` },
      }),
    );
    const created = json(await s.as('admin', { url: `/api/v1/jurisdictions/${A.county}100` }));
    expect(created).toMatchObject({
      level: 'township',
      parentCode: A.county,
      path: `450000.450100.${A.county}.${A.county}100`,
      nameEn: '',
    });
    const county = await s.as('admin', {
      method: 'POST',
      url: '/api/v1/jurisdictions',
      payload: { code: '450107', parentCode: '450100', level: 'county', nameZh: '西乡塘区' },
    });
    expect(county.statusCode).toBe(201);
    expect(json(county)).toMatchObject({ level: 'county', path: '450000.450100.450107' });
    const entries = await auditActions('jurisdiction.create', '450107');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_role: 'admin', jurisdiction_code: '450107' });
    // Bureau A now sees the new office below it, bureau B does not.
    const seen = json<{ items: { code: string }[] }>(
      await s.as('bureauB', { url: '/api/v1/jurisdictions?limit=500' }),
    ).items.map((j) => j.code);
    expect(seen).not.toContain(`${A.county}100`);
  });

  it('create: validates code, parent, level; refuses duplicates', async () => {
    const post = (payload: Record<string, unknown>) =>
      s.as('admin', { method: 'POST', url: '/api/v1/jurisdictions', payload });
    const expectField = async (payload: Record<string, unknown>, field: string, status = 400) => {
      const res = await post(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(json<{ error: { message: string } }>(res).error.message).toContain(field);
    };
    await expectField({ code: '4501', parentCode: '450100', nameZh: 'x' }, 'code');
    await expectField({ code: '4501030019', parentCode: A.county, nameZh: 'x' }, 'code');
    await expectField({ code: '450108', parentCode: '450100' }, 'nameZh');
    // A township code is its county's code plus three digits; an area keeps the province.
    await expectField({ code: `${B.county}777`, parentCode: A.county, nameZh: 'x' }, 'code');
    await expectField({ code: '460108', parentCode: '450100', nameZh: 'x' }, 'code');
    await expectField({ code: '450108', parentCode: A.county, nameZh: 'x' }, 'code');
    await expectField(
      { code: '450108', parentCode: '450100', level: 'township', nameZh: 'x' },
      'level',
    );
    await expectField({ code: '450108', parentCode: '459999', nameZh: 'x' }, 'parentCode', 404);
    await expectField({ code: A.township, parentCode: A.township, nameZh: 'x' }, 'parentCode');
    const dup = await post({ code: A.township, parentCode: A.county, nameZh: 'x' });
    expect(dup.statusCode).toBe(409);
    expect(json<{ error: { code: string } }>(dup).error.code).toBe('JURISDICTION_EXISTS');
  });

  it('rename: admin only, audited with before and after', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 403,
        policeA: 403,
        auditorA: 403,
        officerA: 403,
        bureauB: 403,
        policeB: 403,
        auditorB: 403,
        officerB: 403,
      },
      () => ({
        method: 'PATCH',
        url: `/api/v1/jurisdictions/${A.township}`,
        payload: { nameEn: 'Xinzhu Justice Office' },
      }),
    );
    const res = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/jurisdictions/${A.township}`,
      payload: { nameZh: '新竹司法所（改）' },
    });
    expect(json(res)).toMatchObject({
      nameZh: '新竹司法所（改）',
      nameEn: 'Xinzhu Justice Office',
    });
    const entries = await auditActions('jurisdiction.update', A.township);
    expect(entries.at(-1)?.detail).toMatchObject({
      before: { nameZh: '新竹司法所' },
      after: { nameZh: '新竹司法所（改）' },
    });
    const empty = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/jurisdictions/${A.township}`,
      payload: {},
    });
    expect(empty.statusCode).toBe(400);
    const missing = await s.as('admin', {
      method: 'PATCH',
      url: '/api/v1/jurisdictions/450199',
      payload: { nameZh: 'x' },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('pages through the tree without duplicates or misses', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await s.as('admin', {
        method: 'POST',
        url: '/api/v1/jurisdictions',
        payload: { code: `${B.county}${200 + i}`, parentCode: B.county, nameZh: `分页所${i}` },
      });
      expect(res.statusCode).toBe(201);
    }
    const full = json<{ items: { code: string }[] }>(
      await s.as('bureauB', { url: '/api/v1/jurisdictions?limit=500' }),
    ).items.map((j) => j.code);
    expect(full).toHaveLength(9); // the county, its first office and the seven new ones
    const { ids, sizes } = await walk('bureauB', '/api/v1/jurisdictions?limit=2', (j) =>
      String(j.code),
    );
    expect(ids).toEqual(full);
    expect(new Set(ids).size).toBe(ids.length);
    expect(sizes).toEqual([2, 2, 2, 2, 1]);
    const badCursor = await s.as('bureauB', { url: '/api/v1/jurisdictions?cursor=nope' });
    expect(badCursor.statusCode).toBe(400);
  });
});

// ───────────────────────────── users ─────────────────────────────

describe('users', () => {
  const newUser = (over: Record<string, unknown> = {}) => ({
    username: `u${Math.random().toString(36).slice(2, 10)}`,
    displayName: '测试用户',
    role: 'officer',
    jurisdictionCode: A.township,
    password: 'a-long-password-1',
    ...over,
  });
  const create = async (as: TestUser, over: Record<string, unknown> = {}) =>
    s.as(as, { method: 'POST', url: '/api/v1/users', payload: newUser(over) });
  const login = (username: string, password: string) =>
    s.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });

  it('list: admin, bureau, auditor; side B never sees side A', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 403,
        bureauB: 200,
        policeB: 403,
        auditorB: 200,
        officerB: 403,
      },
      () => ({ url: '/api/v1/users?limit=500' }),
    );
    for (const u of ['bureauB', 'auditorB'] as const) {
      const names = json<{ items: { username: string }[] }>(
        await s.as(u, { url: '/api/v1/users?limit=500' }),
      ).items.map((x) => x.username);
      expect(names).toEqual(expect.arrayContaining(['bureauB', 'officerB']));
      for (const a of ['bureauA', 'policeA', 'auditorA', 'officerA', 'admin'])
        expect(names).not.toContain(a);
    }
    const body = (await s.as('admin', { url: '/api/v1/users' })).body;
    expect(body).not.toMatch(/password_?hash|\$argon2|totp_?secret/i);
  });

  it('get: 404 outside scope', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 403,
        bureauB: 404,
        policeB: 403,
        auditorB: 404,
        officerB: 403,
      },
      () => ({ url: `/api/v1/users/${s.userIds.officerA}` }),
    );
    const res = await s.as('bureauA', { url: `/api/v1/users/${s.userIds.officerA}` });
    expect(json(res)).toMatchObject({
      username: 'officerA',
      role: 'officer',
      jurisdictionCode: A.township,
      disabled: false,
      lockedUntil: null,
    });
    expect(res.json()).not.toHaveProperty('password');
    const unknown = await s.as('admin', {
      url: '/api/v1/users/00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await s.as('admin', { url: '/api/v1/users/not-a-uuid' });
    expect(bad.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(bad).error.message).toContain('id');
  });

  it('create: admin and bureau in scope; password hashed, never returned; audited', async () => {
    await expectMatrixOf(
      {
        admin: 201,
        bureauA: 201,
        policeA: 403,
        auditorA: 403,
        officerA: 403,
        bureauB: 404,
        policeB: 403,
        auditorB: 403,
        officerB: 403,
      },
      (_u, i) => ({
        method: 'POST',
        url: '/api/v1/users',
        payload: newUser({ username: `matrix-user-${i}` }),
      }),
    );
    const res = await create('bureauA', { username: 'new.officer', role: 'officer' });
    expect(res.statusCode).toBe(201);
    const body = json<{ id: string }>(res);
    expect(body).toMatchObject({ username: 'new.officer', role: 'officer', disabled: false });
    expect(res.body).not.toContain('a-long-password-1');
    expect(res.body).not.toMatch(/password_?hash/i);
    const row = await s.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', body.id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect((await login('new.officer', 'a-long-password-1')).statusCode).toBe(200);
    const entries = await auditActions('user.create', body.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_username: 'bureauA', jurisdiction_code: A.township });
    expect(JSON.stringify(entries[0]!.detail)).not.toContain('a-long-password-1');
  });

  it('bureau: may create officer, police, auditor and lower bureaus, never admins or peers', async () => {
    expect(
      (await create('bureauA', { role: 'police', jurisdictionCode: A.county })).statusCode,
    ).toBe(201);
    expect(
      (await create('bureauA', { role: 'auditor', jurisdictionCode: A.county })).statusCode,
    ).toBe(201);
    expect(
      (await create('bureauA', { role: 'bureau', jurisdictionCode: A.township })).statusCode,
    ).toBe(201);
    expect(
      (await create('bureauA', { role: 'bureau', jurisdictionCode: A.county })).statusCode,
    ).toBe(403);
    expect(
      (await create('bureauA', { role: 'admin', jurisdictionCode: A.township })).statusCode,
    ).toBe(403);
    expect(
      (await create('bureauA', { role: 'officer', jurisdictionCode: '450100' })).statusCode,
    ).toBe(404);
    // …and cannot lift an account out of those bounds, nor change a peer or itself.
    const lift = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/users/${s.userIds.officerA}`,
      payload: { role: 'admin' },
    });
    expect(lift.statusCode).toBe(403);
    const self = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/users/${s.userIds.bureauA}`,
      payload: { displayName: 'me' },
    });
    expect(self.statusCode).toBe(403);
    const admin = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/users/${s.userIds.admin}`,
      payload: { displayName: 'x' },
    });
    expect(admin.statusCode).toBe(404);
    // Admins may create any role anywhere in scope.
    expect((await create('admin', { role: 'admin', jurisdictionCode: '450000' })).statusCode).toBe(
      201,
    );
  });

  it('create: validates the body and refuses a taken username', async () => {
    const expectField = async (over: Record<string, unknown>, field: string) => {
      const res = await create('admin', over);
      expect(res.statusCode, JSON.stringify(over)).toBe(400);
      expect(json<{ error: { message: string } }>(res).error.message).toContain(field);
    };
    await expectField({ password: 'short-pw' }, 'password');
    await expectField({ username: 'a b' }, 'username');
    await expectField({ role: 'superuser' }, 'role');
    await expectField({ jurisdictionCode: '12' }, 'jurisdictionCode');
    await expectField({ displayName: '' }, 'displayName');
    const taken = await create('admin', { username: 'officerB' });
    expect(taken.statusCode).toBe(409);
    expect(json<{ error: { code: string } }>(taken).error.code).toBe('USERNAME_TAKEN');
  });

  it('update: matrix; disabling ends the sessions; audited', async () => {
    const target = json<{ id: string; username: string }>(await create('admin'));
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 403,
        officerA: 403,
        bureauB: 404,
        policeB: 403,
        auditorB: 403,
        officerB: 403,
      },
      (u) => ({
        method: 'PATCH',
        url: `/api/v1/users/${target.id}`,
        payload: { displayName: `by ${u}` },
      }),
    );
    const signIn = await login(target.username, 'a-long-password-1');
    expect(signIn.statusCode).toBe(200);
    const headers = { authorization: `Bearer ${json<{ token: string }>(signIn).token}` };
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers })).statusCode).toBe(200);

    const off = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/users/${target.id}`,
      payload: { disabled: true },
    });
    expect(off.statusCode).toBe(200);
    expect(json(off)).toMatchObject({ disabled: true });
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers })).statusCode).toBe(401);
    const open = await s.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', target.id)
      .where('revoked_at', 'is', null)
      .execute();
    expect(open).toHaveLength(0);
    const again = await login(target.username, 'a-long-password-1');
    expect(again.statusCode).toBe(403);
    const entries = await auditActions('user.update', target.id);
    expect(entries.at(-1)?.detail).toMatchObject({
      changes: { disabled: { from: false, to: true } },
      sessionsRevoked: 1,
    });
    // Enabled again, the user can sign in.
    await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/users/${target.id}`,
      payload: { disabled: false },
    });
    expect((await login(target.username, 'a-long-password-1')).statusCode).toBe(200);
  });

  it('update: unlocks, resets a password, refuses self-disabling and bad bodies', async () => {
    const target = json<{ id: string; username: string }>(await create('admin'));
    await s.db
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() + 3_600_000) })
      .where('id', '=', target.id)
      .execute();
    expect((await login(target.username, 'a-long-password-1')).statusCode).toBe(423);
    const seen = await s.as('admin', { url: `/api/v1/users/${target.id}` });
    expect(json<{ lockedUntil: string | null }>(seen).lockedUntil).not.toBeNull();
    const unlock = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/users/${target.id}`,
      payload: { unlock: true },
    });
    expect(unlock.statusCode).toBe(200);
    expect(json(unlock)).toMatchObject({ lockedUntil: null });
    expect((await login(target.username, 'a-long-password-1')).statusCode).toBe(200);

    const reset = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/users/${target.id}`,
      payload: { password: 'another-long-password' },
    });
    expect(reset.statusCode).toBe(200);
    expect((await login(target.username, 'a-long-password-1')).statusCode).toBe(401);
    expect((await login(target.username, 'another-long-password')).statusCode).toBe(200);
    const entries = await auditActions('user.update', target.id);
    expect(JSON.stringify(entries.map((e) => e.detail))).not.toContain('another-long-password');

    const selfOff = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/users/${s.userIds.admin}`,
      payload: { disabled: true },
    });
    expect(selfOff.statusCode).toBe(403);
    const short = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/users/${target.id}`,
      payload: { password: 'short' },
    });
    expect(short.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(short).error.message).toContain('password');
    const none = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/users/${target.id}`,
      payload: {},
    });
    expect(none.statusCode).toBe(400);
  });

  it('pages through users without duplicates or misses', async () => {
    for (let i = 0; i < 7; i++) {
      expect(
        (await create('bureauB', { username: `page-user-${i}`, jurisdictionCode: B.township }))
          .statusCode,
      ).toBe(201);
    }
    const full = json<{ items: { id: string }[] }>(
      await s.as('bureauB', { url: '/api/v1/users?q=page-user&limit=500' }),
    ).items.map((u) => u.id);
    expect(full).toHaveLength(7);
    const { ids, sizes } = await walk('bureauB', '/api/v1/users?q=page-user&limit=3', (u) =>
      String(u.id),
    );
    expect(ids).toEqual(full);
    expect(sizes).toEqual([3, 3, 1]);
    // Filters: role and a jurisdiction, which must be in scope.
    const police = json<{ items: { role: string }[] }>(
      await s.as('admin', { url: '/api/v1/users?role=police&limit=500' }),
    ).items;
    expect(police.length).toBeGreaterThan(0);
    expect(police.every((u) => u.role === 'police')).toBe(true);
    const out = await s.as('bureauB', { url: `/api/v1/users?jurisdictionCode=${A.county}` });
    expect(out.statusCode).toBe(404);
    expect(json<{ error: { message: string } }>(out).error.message).toContain('jurisdictionCode');
  });
});

// ───────────────────────────── subjects ─────────────────────────────

describe('subjects', () => {
  let seq = 0;
  const idNo = () => syntheticIdCardNo(A.county, '1990-05-17', ++seq);
  const subject = (over: Record<string, unknown> = {}) => ({
    name: '张测试',
    idCardNo: idNo(),
    gender: 'male',
    birthDate: '1990-05-17',
    correctionType: 'probation',
    termStart: '2026-01-01',
    termEnd: '2027-06-30',
    jurisdictionCode: A.township,
    ...over,
  });
  let subjectA: { id: string; idCardNo: string };

  beforeAll(async () => {
    const payload = subject({ name: '李样本' });
    const res = await s.as('officerA', { method: 'POST', url: '/api/v1/subjects', payload });
    expect(res.statusCode).toBe(201);
    subjectA = { id: json<{ id: string }>(res).id, idCardNo: payload.idCardNo };
  });

  it('create: officer, bureau, admin in scope; defaults and audit', async () => {
    await expectMatrixOf(
      {
        admin: 201,
        bureauA: 201,
        policeA: 403,
        auditorA: 403,
        officerA: 201,
        bureauB: 404,
        policeB: 403,
        auditorB: 403,
        officerB: 404,
      },
      () => ({ method: 'POST', url: '/api/v1/subjects', payload: subject() }),
    );
    const res = await s.as('officerA', { url: `/api/v1/subjects/${subjectA.id}` });
    expect(json(res)).toMatchObject({
      name: '李样本',
      idCardNo: subjectA.idCardNo,
      idCardMasked: false,
      correctionType: 'probation',
      managementLevel: 'strict',
      status: 'active',
      officerId: s.userIds.officerA,
      termStart: '2026-01-01',
      termEnd: '2027-06-30',
      jurisdictionCode: A.township,
      reportIntervalS: 60,
    });
    const entries = await auditActions('subject.create', subjectA.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_username: 'officerA', jurisdiction_code: A.township });
    expect(JSON.stringify(entries[0]!.detail)).not.toContain(subjectA.idCardNo);
  });

  it('list: scoped; police 403; side B never sees side A', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 200,
        bureauB: 200,
        policeB: 403,
        auditorB: 200,
        officerB: 200,
      },
      () => ({ url: '/api/v1/subjects?limit=500' }),
    );
    await s.as('officerB', {
      method: 'POST',
      url: '/api/v1/subjects',
      payload: subject({ name: '王乙方', jurisdictionCode: B.township }),
    });
    for (const u of ['bureauB', 'auditorB', 'officerB'] as const) {
      const items = json<{ items: { id: string; jurisdictionCode: string }[] }>(
        await s.as(u, { url: '/api/v1/subjects?limit=500' }),
      ).items;
      expect(items.length).toBeGreaterThan(0);
      expect(items.every((x) => x.jurisdictionCode === B.township)).toBe(true);
      expect(items.map((x) => x.id)).not.toContain(subjectA.id);
    }
    const aSide = json<{ items: { id: string }[] }>(
      await s.as('auditorA', { url: '/api/v1/subjects?limit=500' }),
    ).items.map((x) => x.id);
    expect(aSide).toContain(subjectA.id);
  });

  it('get: 404 outside scope, 403 for police, 400 for a bad id', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 200,
        bureauB: 404,
        policeB: 403,
        auditorB: 404,
        officerB: 404,
      },
      () => ({ url: `/api/v1/subjects/${subjectA.id}` }),
    );
    const bad = await s.as('officerA', { url: '/api/v1/subjects/123' });
    expect(bad.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(bad).error.message).toContain('id');
  });

  it('masks ID-card numbers by role and audits full reads', async () => {
    const idOf = async (u: TestUser) =>
      json<{ idCardNo: string; idCardMasked: boolean }>(
        await s.as(u, { url: `/api/v1/subjects/${subjectA.id}` }),
      );
    const full = subjectA.idCardNo;
    const masked = `${full.slice(0, 4)}${'*'.repeat(10)}${full.slice(-4)}`;
    // TEST_SETTINGS: officer, bureau and police see full numbers.
    expect(await idOf('officerA')).toEqual(expect.objectContaining({ idCardNo: full }));
    expect(await idOf('bureauA')).toEqual(expect.objectContaining({ idCardNo: full }));
    expect(await idOf('admin')).toEqual(
      expect.objectContaining({ idCardNo: masked, idCardMasked: true }),
    );
    expect(await idOf('auditorA')).toEqual(expect.objectContaining({ idCardNo: masked }));
    const listed = await s.as('auditorA', { url: '/api/v1/subjects?limit=500' });
    expect(listed.body).not.toContain(full);

    const before = await auditActions('subject.read_id');
    await s.as('admin', { url: `/api/v1/subjects/${subjectA.id}` });
    await s.as('auditorA', { url: '/api/v1/subjects' });
    expect(await auditActions('subject.read_id')).toHaveLength(before.length);
    await s.as('bureauA', { url: `/api/v1/subjects/${subjectA.id}` });
    await s.as('officerA', { url: '/api/v1/subjects?limit=500' });
    const after = await auditActions('subject.read_id');
    expect(after).toHaveLength(before.length + 2);
    expect(after.at(-2)).toMatchObject({ actor_username: 'bureauA', resource_id: subjectA.id });
    expect(after.at(-1)?.actor_username).toBe('officerA');
    expect((after.at(-1)?.detail as { subjectIds: string[] }).subjectIds).toContain(subjectA.id);
  });

  it('create: validates fields; a known ID number is 409', async () => {
    const expectField = async (over: Record<string, unknown>, field: string, status = 400) => {
      const res = await s.as('bureauA', {
        method: 'POST',
        url: '/api/v1/subjects',
        payload: subject(over),
      });
      expect(res.statusCode, JSON.stringify(over)).toBe(status);
      expect(json<{ error: { message: string } }>(res).error.message).toContain(field);
    };
    await expectField({ idCardNo: '45010319900517123' }, 'idCardNo');
    await expectField({ idCardNo: '45010319900517123Y' }, 'idCardNo');
    await expectField({ termEnd: '2025-12-31' }, 'termEnd');
    await expectField({ termStart: '2026-13-01' }, 'termStart');
    await expectField({ birthDate: '2021-02-30' }, 'birthDate');
    await expectField({ correctionType: 'house_arrest' }, 'correctionType');
    await expectField({ managementLevel: 'loose' }, 'managementLevel');
    await expectField({ gender: 'x' }, 'gender');
    await expectField({ name: '' }, 'name');
    await expectField({ reportIntervalS: 1 }, 'reportIntervalS');
    await expectField({ jurisdictionCode: A.county }, 'jurisdictionCode');
    await expectField({ jurisdictionCode: B.township }, 'jurisdictionCode', 404);
    await expectField({ officerId: s.userIds.policeA }, 'officerId');
    await expectField({ officerId: s.userIds.officerB }, 'officerId', 404);

    const dup = await s.as('bureauA', {
      method: 'POST',
      url: '/api/v1/subjects',
      payload: subject({ idCardNo: subjectA.idCardNo }),
    });
    expect(dup.statusCode).toBe(409);
    expect(json<{ error: { code: string } }>(dup).error.code).toBe('SUBJECT_EXISTS');
    // Also when the holder is on the other side (the number is unique nationally).
    const bSide = syntheticIdCardNo(B.county, '1985-01-01', 1);
    expect(
      (
        await s.as('officerB', {
          method: 'POST',
          url: '/api/v1/subjects',
          payload: subject({ idCardNo: bSide, jurisdictionCode: B.township }),
        })
      ).statusCode,
    ).toBe(201);
    const cross = await s.as('officerA', {
      method: 'POST',
      url: '/api/v1/subjects',
      payload: subject({ idCardNo: bSide }),
    });
    expect(cross.statusCode).toBe(409);
    // A lower-case check letter is the same number.
    const x = `${idNo().slice(0, 17)}X`;
    const lower = await s.as('officerA', {
      method: 'POST',
      url: '/api/v1/subjects',
      payload: subject({ idCardNo: x.toLowerCase() }),
    });
    expect(lower.statusCode).toBe(201);
    expect(json<{ idCardNo: string }>(lower).idCardNo).toBe(x);
  });

  it('update: matrix, term check against stored values, audit without personal data', async () => {
    await expectMatrixOf(
      {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 403,
        officerA: 200,
        bureauB: 404,
        policeB: 403,
        auditorB: 403,
        officerB: 404,
      },
      (u) => ({
        method: 'PATCH',
        url: `/api/v1/subjects/${subjectA.id}`,
        payload: { homeAddress: `南宁市青秀区 ${u}` },
      }),
    );
    const res = await s.as('officerA', {
      method: 'PATCH',
      url: `/api/v1/subjects/${subjectA.id}`,
      payload: { managementLevel: 'normal', phone: '138 0000 0000' },
    });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ managementLevel: 'normal', phone: '138 0000 0000' });
    const entries = await auditActions('subject.update', subjectA.id);
    const last = entries.at(-1)!;
    expect(last.detail).toEqual({
      changes: {
        managementLevel: { from: 'strict', to: 'normal' },
        phone: { changed: true },
      },
    });
    expect(entries.length).toBeGreaterThanOrEqual(4);

    const early = await s.as('officerA', {
      method: 'PATCH',
      url: `/api/v1/subjects/${subjectA.id}`,
      payload: { termEnd: '2025-01-01' },
    });
    expect(early.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(early).error.message).toContain('termEnd');
    const move = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/subjects/${subjectA.id}`,
      payload: { jurisdictionCode: B.township },
    });
    expect(move.statusCode).toBe(404);
    const status = await s.as('bureauA', {
      method: 'PATCH',
      url: `/api/v1/subjects/${subjectA.id}`,
      payload: { status: 'gone' },
    });
    expect(status.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(status).error.message).toContain('status');
  });

  it('filters and pages without duplicates or misses', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await s.as('officerA', {
        method: 'POST',
        url: '/api/v1/subjects',
        payload: subject({
          name: `分页对象${i}`,
          correctionType: i % 2 ? 'parole' : 'control',
          managementLevel: i < 3 ? 'lenient' : 'strict',
        }),
      });
      expect(res.statusCode).toBe(201);
    }
    const full = json<{ items: { id: string }[] }>(
      await s.as('bureauA', { url: '/api/v1/subjects?q=分页对象&limit=500' }),
    ).items.map((x) => x.id);
    expect(full).toHaveLength(7);
    const { ids, sizes } = await walk('bureauA', '/api/v1/subjects?q=分页对象&limit=3', (x) =>
      String(x.id),
    );
    expect(ids).toEqual(full);
    expect(new Set(ids).size).toBe(7);
    expect(sizes).toEqual([3, 3, 1]);

    const lenient = json<{ items: { managementLevel: string; name: string }[] }>(
      await s.as('bureauA', {
        url: '/api/v1/subjects?q=分页对象&managementLevel=lenient&correctionType=control',
      }),
    ).items;
    expect(lenient.map((x) => x.name).sort()).toEqual(['分页对象0', '分页对象2']);
    const inOffice = await s.as('bureauA', {
      url: `/api/v1/subjects?jurisdictionCode=${A.township}&q=分页对象`,
    });
    expect(json<{ items: unknown[] }>(inOffice).items).toHaveLength(7);
    const outside = await s.as('officerA', {
      url: `/api/v1/subjects?jurisdictionCode=${B.township}`,
    });
    expect(outside.statusCode).toBe(404);
    const badLimit = await s.as('officerA', { url: '/api/v1/subjects?limit=0' });
    expect(badLimit.statusCode).toBe(400);
    expect(json<{ error: { message: string } }>(badLimit).error.message).toContain('limit');
    // A wildcard in q is a literal character.
    const pct = await s.as('bureauA', { url: '/api/v1/subjects?q=%25' });
    expect(json<{ items: unknown[] }>(pct).items).toHaveLength(0);
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const res = await s.app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(json<{ paths: Record<string, unknown> }>(res).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/jurisdictions',
        '/api/v1/jurisdictions/{code}',
        '/api/v1/users/{id}',
        '/api/v1/subjects',
        '/api/v1/devices/{id}/commands',
      ]),
    );
  });

  it('leaves the audit chain intact', async () => {
    const res = await s.as('admin', { url: '/api/v1/audit/verify' });
    expect(json(res)).toMatchObject({ ok: true });
  });
});
