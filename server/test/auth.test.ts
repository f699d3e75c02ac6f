import { sql } from 'kysely';
import { TOTP, Secret } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, canonicalAroundAt, canonicalJson, entryHash } from '../src/audit/audit';
import { PASSWORD, startTestServer, type TestServer } from './support';

describe('auth', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      settings: {
        auth: {
          sessionTtlHours: 12,
          maxFailures: 5,
          failureWindowMinutes: 15,
          lockoutMinutes: 15,
          totpRequiredRoles: ['admin'],
        },
      },
    });
  });
  afterAll(async () => s?.close());

  const login = (username: string, password: string, totp?: string) =>
    s.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password, ...(totp ? { totp } : {}) },
    });

  it('signs in and answers /auth/me; no token or a bad token is 401', async () => {
    const me = await s.as('officerA', { url: '/api/v1/auth/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({
      username: 'officerA',
      role: 'officer',
      jurisdictionCode: '450103001',
    });
    expect((await s.app.inject({ url: '/api/v1/auth/me' })).statusCode).toBe(401);
    const bad = await s.app.inject({
      url: '/api/v1/auth/me',
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong password with the same answer as an unknown user', async () => {
    const wrong = await login('officerB', 'not-the-password');
    const unknown = await login('nobody-here', 'not-the-password');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
  });

  it('locks the account after five failures in 15 minutes, and audits it', async () => {
    for (let i = 0; i < 5; i++)
      expect((await login('policeB', 'wrong-password')).statusCode).toBe(401);
    const locked = await login('policeB', PASSWORD);
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.code).toBe('ACCOUNT_LOCKED');
    const entries = await s.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'auth.account_locked')
      .execute();
    expect(entries).toHaveLength(1);
  });

  it('an unlock by the bureau resets the failure count (regression: re-locked after one more failure)', async () => {
    const unlock = await s.as('bureauB', {
      method: 'PATCH',
      url: `/api/v1/users/${s.userIds.policeB}`,
      payload: { unlock: true },
    });
    expect(unlock.statusCode).toBe(200);
    expect((await login('policeB', 'wrong-password-again')).statusCode).toBe(401);
    expect((await login('policeB', PASSWORD)).statusCode).toBe(200);
  });

  it('logout ends the session', async () => {
    const res = await login('auditorB', PASSWORD);
    const token = res.json().token as string;
    const headers = { authorization: `Bearer ${token}` };
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers })).statusCode).toBe(200);
    expect(
      (await s.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers })).statusCode,
    ).toBe(204);
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers })).statusCode).toBe(401);
  });

  it('changing the password signs out the other sessions and needs the current one', async () => {
    const first = (await login('bureauB', PASSWORD)).json().token as string;
    const second = (await login('bureauB', PASSWORD)).json().token as string;
    const change = (current: string) =>
      s.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password',
        headers: { authorization: `Bearer ${first}` },
        payload: { currentPassword: current, newPassword: 'a-new-long-password' },
      });
    expect((await change('wrong')).statusCode).toBe(400);
    expect((await change(PASSWORD)).statusCode).toBe(204);
    expect(
      (
        await s.app.inject({
          url: '/api/v1/auth/me',
          headers: { authorization: `Bearer ${second}` },
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await s.app.inject({
          url: '/api/v1/auth/me',
          headers: { authorization: `Bearer ${first}` },
        })
      ).statusCode,
    ).toBe(200);
    expect((await login('bureauB', 'a-new-long-password')).statusCode).toBe(200);
  });

  it('a role that requires TOTP must enrol before anything else, then signs in with codes', async () => {
    const first = await login('admin', PASSWORD);
    expect(first.json().totpEnrolmentRequired).toBe(true);
    const headers = { authorization: `Bearer ${first.json().token}` };
    expect((await s.app.inject({ url: '/api/v1/audit', headers })).json().error.code).toBe(
      'TOTP_ENROLMENT_REQUIRED',
    );
    const setup = (
      await s.app.inject({ method: 'POST', url: '/api/v1/auth/totp/setup', headers })
    ).json();
    const totp = new TOTP({
      secret: Secret.fromBase32(setup.secret),
      digits: 6,
      period: 30,
      algorithm: 'SHA1',
    });
    expect(
      (
        await s.app.inject({
          method: 'POST',
          url: '/api/v1/auth/totp/enable',
          headers,
          payload: { code: '000000' === totp.generate() ? '111111' : '000000' },
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await s.app.inject({
          method: 'POST',
          url: '/api/v1/auth/totp/enable',
          headers,
          payload: { code: totp.generate() },
        })
      ).statusCode,
    ).toBe(204);
    expect((await s.app.inject({ url: '/api/v1/audit', headers })).statusCode).toBe(200);
    expect((await login('admin', PASSWORD)).json().error.code).toBe('TOTP_REQUIRED');
    const again = await login('admin', PASSWORD, totp.generate());
    expect(again.statusCode).toBe(200);
    expect(again.json().totpEnrolmentRequired).toBe(false);
  });

  it('the auditor role is read-only everywhere', async () => {
    const res = await s.as('auditorA', { method: 'POST', url: '/api/v1/auth/totp/setup' });
    // its own second factor is allowed; any other write is refused
    expect(res.statusCode).toBe(200);
    const write = await s.as('auditorA', { method: 'POST', url: '/api/v1/anything', payload: {} });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.code).toBe('READ_ONLY_ROLE');
  });

  it('answers invalid bodies with 400 naming the field', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'x' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(res.json().error.message).toContain('password');
  });
});

describe('audit chain', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('verifies an intact chain, and finds the row where an edit breaks it', async () => {
    const ok = await s.as('bureauA', { url: '/api/v1/audit/verify' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().ok).toBe(true);
    expect(ok.json().entries).toBeGreaterThan(5);
    // Only a superuser disabling the trigger can edit a row; the chain still tells.
    const victim = await s.db
      .selectFrom('audit_log')
      .select('id')
      .orderBy('id')
      .offset(3)
      .limit(1)
      .executeTakeFirstOrThrow();
    await sql`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`.execute(s.db);
    await sql`UPDATE audit_log SET detail = '{"edited":true}' WHERE id = ${victim.id}`.execute(
      s.db,
    );
    await sql`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`.execute(s.db);
    const broken = await s.as('auditorA', { url: '/api/v1/audit/verify' });
    expect(broken.json()).toMatchObject({
      ok: false,
      brokenAt: { id: String(victim.id), reason: 'hash_mismatch' },
    });
  });

  it('keeps one chain under concurrent appends, in time order, with any text in the entry', async () => {
    const before = await s.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirstOrThrow();
    // Each append outside a transaction runs on its own pooled connection, at the same time.
    const detail = {
      note: '社区矫正 "引号" \\ 换行\n 😀',
      n: 1.5,
      list: [3, { b: null, a: true }],
    };
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        audit(s.db, {
          actor: null,
          action: 'test.concurrent',
          resourceType: 'test',
          resourceId: String(i),
          jurisdictionCode: i % 2 ? '450103' : null,
          detail: { ...detail, i },
          ip: i % 3 ? '127.0.0.1' : null,
        }),
      ),
    );
    const rows = await s.db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>', before.id ?? 0)
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.resource_id)).size).toBe(40);
    expect(rows[5]!.detail).toMatchObject(detail);
    // The hash the database computed is the one verification recomputes (the test above
    // broke the chain further back on purpose, so these rows are checked on their own).
    for (const [i, r] of rows.entries()) {
      if (i > 0) {
        expect(r.prev_hash).toBe(rows[i - 1]!.hash);
        expect(r.at.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.at.getTime());
      }
      const { id: _id, prev_hash, hash, at, ...rest } = r;
      expect(entryHash(prev_hash, { ...rest, at: at.toISOString() })).toBe(hash);
    }
  });

  it('cuts the canonical JSON where the database puts the time', () => {
    const fields = {
      actor_id: null,
      actor_username: 'u',
      actor_role: 'township_officer',
      action: 'positions.latest',
      resource_type: null,
      resource_id: null,
      jurisdiction_code: '450103001',
      detail: { z: 1, a: '"at"' },
      ip: null,
    };
    const at = '2026-11-29T14:41:44.123Z';
    const [head, tail] = canonicalAroundAt(fields);
    expect(head + at + tail).toBe(canonicalJson({ ...fields, at }));
  });

  it('lists entries in scope only: officers cannot read the audit log, bureaus see their branch', async () => {
    expect((await s.as('officerA', { url: '/api/v1/audit' })).statusCode).toBe(403);
    const items = (await s.as('bureauB', { url: '/api/v1/audit?limit=500' })).json().items as {
      jurisdictionCode: string | null;
    }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.jurisdictionCode?.startsWith('450105'))).toBe(true);
  });
});
