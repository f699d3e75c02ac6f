import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDeviceSecret } from '@ccm/device-gateway';
import { seedMonitoredDevice } from '@ccm/test-support';
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
 * Devices: registration with a one-time secret, rotation, status, state without positions,
 * commands and their history; an access matrix for every route on a device of side A.
 */

let s: TestServer;
let deviceA: { id: string; secret: string };

beforeAll(async () => {
  s = await startTestServer();
  const res = await s.as('officerA', {
    method: 'POST',
    url: '/api/v1/devices',
    payload: { id: 'wb-a-0001', kind: 'wristband', jurisdictionCode: A.township, vendor: 'Acme' },
  });
  if (res.statusCode !== 201) throw new Error(`register: ${res.body}`);
  deviceA = { id: 'wb-a-0001', secret: res.json().secret };
});
afterAll(async () => s?.close());

/** The shared access matrix, for requests given as inject options. */
const expectMatrixOf = (
  expected: StatusMatrix,
  request: (user: TestUser, i: number) => InjectOptions,
) => expectMatrix(expected, (user, i) => s.as(user, request(user, i)));

const json = <T = Record<string, unknown>>(res: { body: string }) => JSON.parse(res.body) as T;
const message = (res: { body: string }) => json<{ error: { message: string } }>(res).error.message;
const errorCode = (res: { body: string }) => json<{ error: { code: string } }>(res).error.code;

const READ: StatusMatrix = {
  admin: 200,
  bureauA: 200,
  policeA: 403,
  auditorA: 200,
  officerA: 200,
  bureauB: 404,
  policeB: 403,
  auditorB: 404,
  officerB: 404,
};
const WRITE = (ok: number): StatusMatrix => ({
  admin: ok,
  bureauA: ok,
  policeA: 403,
  auditorA: 403,
  officerA: ok,
  bureauB: 404,
  policeB: 403,
  auditorB: 403,
  officerB: 404,
});

async function storedHash(id: string) {
  const row = await s.db
    .selectFrom('devices')
    .select('secret_hash')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.secret_hash;
}

async function auditRows(action: string, resourceId?: string) {
  let q = s.db.selectFrom('audit_log').selectAll().where('action', '=', action);
  if (resourceId) q = q.where('resource_id', '=', resourceId);
  return q.execute();
}

describe('devices: registration and secrets', () => {
  it('register: officer, bureau, admin in scope; the secret is shown once and verifies', async () => {
    await expectMatrixOf(WRITE(201), (_u, i) => ({
      method: 'POST',
      url: '/api/v1/devices',
      payload: { id: `wb-matrix-${i}`, kind: 'wristband', jurisdictionCode: A.township },
    }));
    expect(deviceA.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const hash = await storedHash(deviceA.id);
    expect(hash).not.toContain(deviceA.secret);
    expect(verifyDeviceSecret(hash, deviceA.secret)).toBe(true);
    expect(verifyDeviceSecret(hash, `${deviceA.secret}x`)).toBe(false);
    // Never again: not in reads, not in the audit trail.
    const got = await s.as('admin', { url: `/api/v1/devices/${deviceA.id}` });
    expect(got.json()).not.toHaveProperty('secret');
    expect(got.body).not.toContain(deviceA.secret);
    const list = await s.as('admin', { url: '/api/v1/devices?limit=500' });
    expect(list.body).not.toContain(deviceA.secret);
    expect(list.body).not.toMatch(/secret_?hash|\$7\$/i);
    const entries = await auditRows('device.register', deviceA.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_username: 'officerA', jurisdiction_code: A.township });
    expect(JSON.stringify(entries[0])).not.toContain(deviceA.secret);
  });

  it('register: refuses the platform id, known ids, and bad bodies', async () => {
    const post = (payload: Record<string, unknown>, as: TestUser = 'bureauA') =>
      s.as(as, { method: 'POST', url: '/api/v1/devices', payload });
    const base = { kind: 'wristband', jurisdictionCode: A.township };
    for (const id of ['ccm-platform', 'CCM-Platform']) {
      const res = await post({ ...base, id });
      expect(res.statusCode).toBe(409);
      expect(errorCode(res)).toBe('DEVICE_ID_RESERVED');
    }
    const dup = await post({ ...base, id: deviceA.id });
    expect(dup.statusCode).toBe(409);
    expect(errorCode(dup)).toBe('DEVICE_EXISTS');
    // Ids are global: one registered on side B is taken for side A too.
    expect(
      (await post({ id: 'wb-b-0001', kind: 'phone', jurisdictionCode: B.township }, 'officerB'))
        .statusCode,
    ).toBe(201);
    const cross = await post({ ...base, id: 'wb-b-0001' });
    expect(cross.statusCode).toBe(409);
    const expectField = async (payload: Record<string, unknown>, field: string, status = 400) => {
      const res = await post(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(message(res)).toContain(field);
    };
    await expectField({ ...base, id: 'bad id!' }, 'id');
    await expectField({ ...base, id: 'ab' }, 'id');
    await expectField({ ...base, id: 'wb-x', kind: 'anklet' }, 'kind');
    await expectField({ ...base, id: 'wb-x', jurisdictionCode: '4501' }, 'jurisdictionCode');
    await expectField({ ...base, id: 'wb-x', jurisdictionCode: B.county }, 'jurisdictionCode', 404);
    await expectField({ ...base, id: 'wb-x', vendor: 'v'.repeat(101) }, 'vendor');
  });

  it('rotate-secret: a new secret once; the old one stops verifying; audited', async () => {
    const target = json<{ secret: string }>(
      await s.as('admin', {
        method: 'POST',
        url: '/api/v1/devices',
        payload: { id: 'wb-rotate', kind: 'wristband', jurisdictionCode: A.township },
      }),
    );
    await expectMatrixOf(WRITE(200), () => ({
      method: 'POST',
      url: '/api/v1/devices/wb-rotate/rotate-secret',
    }));
    const res = await s.as('bureauA', {
      method: 'POST',
      url: '/api/v1/devices/wb-rotate/rotate-secret',
    });
    expect(res.statusCode).toBe(200);
    const fresh = json<{ secret: string; id: string }>(res);
    expect(fresh.id).toBe('wb-rotate');
    expect(fresh.secret).not.toBe(target.secret);
    const hash = await storedHash('wb-rotate');
    expect(verifyDeviceSecret(hash, fresh.secret)).toBe(true);
    expect(verifyDeviceSecret(hash, target.secret)).toBe(false);
    const entries = await auditRows('device.rotate_secret', 'wb-rotate');
    expect(entries).toHaveLength(4); // admin, bureauA, officerA in the matrix, then bureauA
    expect(JSON.stringify(entries)).not.toContain(fresh.secret);
    const unknown = await s.as('admin', {
      method: 'POST',
      url: '/api/v1/devices/no-such-device/rotate-secret',
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('devices: reads', () => {
  it('list: scoped; police 403; side B never sees side A', async () => {
    await expectMatrixOf({ ...READ, bureauB: 200, auditorB: 200, officerB: 200 }, () => ({
      url: '/api/v1/devices?limit=500',
    }));
    for (const u of ['bureauB', 'auditorB', 'officerB'] as const) {
      const items = json<{ items: { id: string; jurisdictionCode: string }[] }>(
        await s.as(u, { url: '/api/v1/devices?limit=500' }),
      ).items;
      expect(items.map((d) => d.id)).toContain('wb-b-0001');
      expect(items.every((d) => d.jurisdictionCode === B.township)).toBe(true);
    }
  });

  it('get: 404 outside scope; a malformed id is 400', async () => {
    await expectMatrixOf(READ, () => ({ url: `/api/v1/devices/${deviceA.id}` }));
    const bad = await s.as('admin', { url: '/api/v1/devices/a!' });
    expect(bad.statusCode).toBe(400);
    expect(message(bad)).toContain('id');
  });

  it('shows the device state but never its position', async () => {
    const { no } = await s.db
      .selectFrom('devices')
      .select('no')
      .where('id', '=', deviceA.id)
      .executeTakeFirstOrThrow();
    const seen = new Date('2026-03-01T08:00:00.000Z');
    await s.db
      .insertInto('device_state')
      .values({
        device_no: no,
        last_seen_at: seen,
        last_seq: 10,
        acked_seq: 10,
        battery: 76,
        charging: false,
        rssi: -71,
        firmware: '1.4.2',
        online: true,
        online_changed_at: seen,
        last_fix_t: seen,
        last_lat_e6: 22_817_000,
        last_lon_e6: 108_366_000,
        last_acc_dm: 50,
        last_src: 0,
      })
      .execute();
    const res = await s.as('officerA', { url: `/api/v1/devices/${deviceA.id}` });
    expect(json(res)).toMatchObject({
      id: deviceA.id,
      kind: 'wristband',
      status: 'active',
      vendor: 'Acme',
      state: {
        lastSeenAt: seen.toISOString(),
        battery: 76,
        charging: false,
        rssi: -71,
        firmware: '1.4.2',
        online: true,
        lastFixAt: seen.toISOString(),
      },
    });
    const list = await s.as('officerA', { url: '/api/v1/devices?limit=500' });
    for (const body of [res.body, list.body]) {
      expect(body).not.toMatch(/"(lat|lon|lastLat|lastLon|lat_e6|lon_e6|accuracy)/i);
      expect(body).not.toContain('22817000');
      expect(body).not.toContain('22.817');
    }
    // A device never seen has an empty state.
    const quiet = json<{ state: Record<string, unknown> }>(
      await s.as('admin', { url: '/api/v1/devices/wb-matrix-0' }),
    );
    expect(quiet.state).toEqual({
      lastSeenAt: null,
      battery: null,
      charging: null,
      rssi: null,
      firmware: null,
      online: false,
      lastFixAt: null,
    });
  });

  it('filters and pages without duplicates or misses', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await s.as('bureauA', {
        method: 'POST',
        url: '/api/v1/devices',
        payload: {
          id: `term-page-${i}`,
          kind: i % 2 ? 'terminal' : 'phone',
          jurisdictionCode: i < 4 ? A.township : A.county,
          model: 'PG-1',
        },
      });
      expect(res.statusCode).toBe(201);
    }
    const full = json<{ items: { id: string }[] }>(
      await s.as('bureauA', { url: '/api/v1/devices?q=page&limit=500' }),
    ).items.map((d) => d.id);
    expect(full).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `term-page-${i}`));
    const ids: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = json(
        await s.as('bureauA', {
          url: `/api/v1/devices?q=page&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        }),
      );
      ids.push(...page.items.map((d) => d.id));
      sizes.push(page.items.length);
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toEqual(full);
    expect(sizes).toEqual([3, 3, 1]);

    const terminals = json<{ items: { kind: string }[] }>(
      await s.as('bureauA', { url: '/api/v1/devices?q=page&kind=terminal' }),
    ).items;
    expect(terminals).toHaveLength(3);
    // The officer's office holds only the first four.
    const office = json<{ items: { id: string }[] }>(
      await s.as('officerA', { url: '/api/v1/devices?q=page&limit=500' }),
    ).items;
    expect(office).toHaveLength(4);
    const byModel = json<{ items: unknown[] }>(
      await s.as('bureauA', { url: `/api/v1/devices?q=pg-1&jurisdictionCode=${A.county}` }),
    ).items;
    expect(byModel).toHaveLength(7);
    const badKind = await s.as('bureauA', { url: '/api/v1/devices?kind=anklet' });
    expect(badKind.statusCode).toBe(400);
    expect(message(badKind)).toContain('kind');
  });
});

describe('devices: status', () => {
  it('patch: matrix; retirement is final; audited', async () => {
    await s.as('admin', {
      method: 'POST',
      url: '/api/v1/devices',
      payload: { id: 'wb-status', kind: 'wristband', jurisdictionCode: A.township },
    });
    await expectMatrixOf(WRITE(200), (u) => ({
      method: 'PATCH',
      url: '/api/v1/devices/wb-status',
      payload: { model: `M-${u}` },
    }));
    const off = await s.as('officerA', {
      method: 'PATCH',
      url: '/api/v1/devices/wb-status',
      payload: { status: 'inactive' },
    });
    expect(json(off)).toMatchObject({ status: 'inactive' });
    const gone = await s.as('bureauA', {
      method: 'PATCH',
      url: '/api/v1/devices/wb-status',
      payload: { status: 'retired' },
    });
    expect(gone.statusCode).toBe(200);
    const back = await s.as('admin', {
      method: 'PATCH',
      url: '/api/v1/devices/wb-status',
      payload: { status: 'active' },
    });
    expect(back.statusCode).toBe(409);
    expect(errorCode(back)).toBe('DEVICE_RETIRED');
    const entries = await auditRows('device.update', 'wb-status');
    expect(entries.map((e) => e.detail)).toEqual(
      expect.arrayContaining([
        { changes: { status: { from: 'active', to: 'inactive' } } },
        { changes: { status: { from: 'inactive', to: 'retired' } } },
      ]),
    );
    const bad = await s.as('admin', {
      method: 'PATCH',
      url: `/api/v1/devices/${deviceA.id}`,
      payload: { status: 'lost' },
    });
    expect(bad.statusCode).toBe(400);
    expect(message(bad)).toContain('status');
  });

  it('a device in an active monitoring order cannot be taken out of service', async () => {
    await seedMonitoredDevice(s.db, { deviceId: 'wb-ordered' });
    const res = await s.as('bureauA', {
      method: 'PATCH',
      url: '/api/v1/devices/wb-ordered',
      payload: { status: 'inactive' },
    });
    expect(res.statusCode).toBe(409);
    expect(errorCode(res)).toBe('DEVICE_IN_USE');
  });
});

describe('devices: commands', () => {
  it('queue: matrix; validated per type by the contract; audited', async () => {
    await expectMatrixOf(WRITE(201), () => ({
      method: 'POST',
      url: `/api/v1/devices/${deviceA.id}/commands`,
      payload: { type: 'locate', params: {} },
    }));
    const res = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/devices/${deviceA.id}/commands`,
      payload: { type: 'warn', params: { text: '请立即返回居住地' }, ttlSeconds: 120 },
    });
    expect(res.statusCode).toBe(201);
    const command = json<{ id: string; expiresAt: string; createdAt: string }>(res);
    expect(command).toMatchObject({
      deviceId: deviceA.id,
      type: 'warn',
      params: { text: '请立即返回居住地', vibrate: true },
      status: 'pending',
      createdBy: s.userIds.officerA,
    });
    expect(Date.parse(command.expiresAt) - Date.parse(command.createdAt)).toBeGreaterThan(100_000);
    const row = await s.db
      .selectFrom('device_commands')
      .selectAll()
      .where('id', '=', command.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ device_id: deviceA.id, type: 'warn', status: 'pending' });
    const entries = await auditRows('device.command', deviceA.id);
    expect(entries.at(-1)?.detail).toMatchObject({ commandId: command.id, type: 'warn' });

    const expectField = async (payload: Record<string, unknown>, field: string) => {
      const bad = await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/devices/${deviceA.id}/commands`,
        payload,
      });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
      expect(message(bad)).toContain(field);
    };
    await expectField({ type: 'warn', params: {} }, 'params.text');
    await expectField({ type: 'set_interval', params: { seconds: 1 } }, 'params.seconds');
    await expectField({ type: 'locate', params: { now: true } }, 'params');
    await expectField(
      { type: 'checkin_request', params: { method: 'iris', deadline: 1 } },
      'params.method',
    );
    await expectField({ type: 'explode', params: {} }, 'type');
    await expectField({ type: 'locate', params: {}, ttlSeconds: 1 }, 'ttlSeconds');
    const count = await s.db
      .selectFrom('device_commands')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('device_id', '=', deviceA.id)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(4); // three in the matrix and the warning: nothing invalid queued
  });

  it('refuses commands to a device out of service', async () => {
    await s.as('admin', {
      method: 'POST',
      url: '/api/v1/devices',
      payload: { id: 'wb-idle', kind: 'wristband', jurisdictionCode: A.township },
    });
    await s.as('admin', {
      method: 'PATCH',
      url: '/api/v1/devices/wb-idle',
      payload: { status: 'inactive' },
    });
    const res = await s.as('officerA', {
      method: 'POST',
      url: '/api/v1/devices/wb-idle/commands',
      payload: { type: 'locate' },
    });
    expect(res.statusCode).toBe(409);
    expect(errorCode(res)).toBe('DEVICE_NOT_ACTIVE');
  });

  it('history: matrix, status, newest first, pages across equal timestamps', async () => {
    await expectMatrixOf(READ, () => ({ url: `/api/v1/devices/${deviceA.id}/commands` }));
    // Five commands sharing one timestamp (with microseconds), and one already answered.
    const at = '2026-02-01 10:00:00.123456+00';
    await s.db
      .insertInto('device_commands')
      .values(
        [0, 1, 2, 3, 4].map(() => ({
          device_id: deviceA.id,
          type: 'locate' as const,
          params: '{}',
          expires_at: new Date('2026-02-01T10:05:00Z'),
          created_at: at,
        })),
      )
      .execute();
    const answered = await s.db
      .updateTable('device_commands')
      .set({ status: 'done', sent_at: new Date(), result_at: new Date() })
      .where('device_id', '=', deviceA.id)
      .where('type', '=', 'warn')
      .returning('id')
      .executeTakeFirstOrThrow();

    const all = json<{ items: { id: string; createdAt: string; status: string }[] }>(
      await s.as('auditorA', { url: `/api/v1/devices/${deviceA.id}/commands?limit=500` }),
    ).items;
    expect(all).toHaveLength(9);
    const times = all.map((c) => Date.parse(c.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(all.find((c) => c.id === answered.id)?.status).toBe('done');

    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = json(
        await s.as('auditorA', {
          url: `/api/v1/devices/${deviceA.id}/commands?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        }),
      );
      ids.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(ids).toEqual(all.map((c) => c.id));
    expect(new Set(ids).size).toBe(9);
    expect(pages).toBe(5);

    const done = json<{ items: { id: string }[] }>(
      await s.as('officerA', { url: `/api/v1/devices/${deviceA.id}/commands?status=done` }),
    ).items;
    expect(done.map((c) => c.id)).toEqual([answered.id]);
    const badCursor = await s.as('officerA', {
      url: `/api/v1/devices/${deviceA.id}/commands?cursor=${Buffer.from('["x","y"]').toString('base64url')}`,
    });
    expect(badCursor.statusCode).toBe(400);
  });

  it('leaves the audit chain intact', async () => {
    const res = await s.as('auditorA', { url: '/api/v1/audit/verify' });
    expect(json(res)).toMatchObject({ ok: true });
  });
});
