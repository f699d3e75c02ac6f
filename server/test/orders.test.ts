import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { A, B, expectMatrix, startTestServer, type TestServer, type TestUser } from './support';

const DAY = 86_400_000;
let seq = 0;
async function seedSubject(db: Kysely<DB>, township: string): Promise<string> {
  seq++;
  const row = await db
    .insertInto('subjects')
    .values({
      name: `订单测试${seq}`,
      id_card_no: syntheticIdCardNo(township.slice(0, 6), '1988-03-04', seq),
      correction_type: 'probation',
      term_start: '2026-01-01',
      term_end: '2030-12-31',
      jurisdiction_code: township,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function seedDevice(db: Kysely<DB>, township: string): Promise<string> {
  seq++;
  const id = `ord-dev-${seq}`;
  await db
    .insertInto('devices')
    .values({
      id,
      kind: 'wristband',
      secret_hash: hashDeviceSecret('not-a-real-secret'),
      jurisdiction_code: township,
    })
    .execute();
  return id;
}

/** An order written straight to the database (for tests of reading and ending). */
async function seedOrder(
  db: Kysely<DB>,
  township: string,
  window: { startsAt: Date; endsAt: Date } = {
    startsAt: new Date(Date.now() - DAY),
    endsAt: new Date(Date.now() + 30 * DAY),
  },
) {
  const subjectId = await seedSubject(db, township);
  const deviceId = await seedDevice(db, township);
  const row = await db
    .insertInto('monitoring_orders')
    .values({
      subject_id: subjectId,
      device_id: deviceId,
      legal_ground: 'left_without_approval',
      ground_detail: '未经批准离开南宁市',
      decision_no: `青司矫定〔2026〕${seq}号`,
      approver_name: '王局长',
      approved_at: window.startsAt,
      starts_at: window.startsAt,
      initial_ends_at: window.endsAt,
      ends_at: window.endsAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { orderId: row.id, subjectId, deviceId };
}

function orderBody(deviceId: string, startsAt: Date | string, endsAt: Date | string) {
  const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());
  return {
    deviceId,
    legalGround: 'prohibition_order_violation',
    groundDetail: '进入禁止令所列网吧',
    decisionNo: '青司矫定〔2026〕88号',
    approverName: '王局长',
    approvedAt: new Date(Date.now() - 2 * DAY).toISOString(),
    startsAt: iso(startsAt),
    endsAt: iso(endsAt),
  };
}

/** Every test user gets exactly the expected status (the record type makes it complete). */
describe('monitoring orders (Art. 29)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  const create = (user: TestUser, subjectId: string, body: object) =>
    s.as(user, {
      method: 'POST',
      url: `/api/v1/subjects/${subjectId}/monitoring-orders`,
      payload: body,
    });

  describe('access', () => {
    it('create: bureau and admin in scope; officers, auditors and police refused', async () => {
      await expectMatrix(
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
        async (user) => {
          const subjectId = await seedSubject(s.db, A.township);
          const deviceId = await seedDevice(s.db, A.township);
          return create(
            user,
            subjectId,
            orderBody(deviceId, new Date(Date.now() - DAY), new Date(Date.now() + 20 * DAY)),
          );
        },
      );
    });

    it('a device outside the user’s scope reads as absent', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      const deviceB = await seedDevice(s.db, B.township);
      const res = await create(
        'bureauA',
        subjectId,
        orderBody(deviceB, new Date(Date.now() - DAY), new Date(Date.now() + DAY)),
      );
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('DEVICE_NOT_FOUND');
    });

    it('read: A-side readers see the order, B side gets 404, police 403', async () => {
      const { orderId, subjectId } = await seedOrder(s.db, A.township);
      const readers = {
        admin: 200,
        bureauA: 200,
        policeA: 403,
        auditorA: 200,
        officerA: 200,
        bureauB: 404,
        policeB: 403,
        auditorB: 404,
        officerB: 404,
      } as const;
      await expectMatrix(readers, (u) => s.as(u, { url: `/api/v1/monitoring-orders/${orderId}` }));
      await expectMatrix(readers, (u) =>
        s.as(u, { url: `/api/v1/subjects/${subjectId}/monitoring-orders` }),
      );
      await expectMatrix(readers, (u) =>
        s.as(u, { url: `/api/v1/monitoring-orders/${orderId}/extensions` }),
      );
      const list = await s.as('officerA', {
        url: `/api/v1/subjects/${subjectId}/monitoring-orders`,
      });
      expect(list.json().items.map((o: { id: string }) => o.id)).toEqual([orderId]);
      // Nonexistent ids answer the same as out-of-scope ones.
      const missing = await s.as('admin', {
        url: '/api/v1/monitoring-orders/00000000-0000-4000-8000-000000000000',
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('ORDER_NOT_FOUND');
    });

    it('side-B lists never show side-A orders', async () => {
      await seedOrder(s.db, A.township);
      const b = await seedOrder(s.db, B.township);
      for (const user of ['bureauB', 'auditorB', 'officerB'] as const) {
        const res = await s.as(user, {
          url: `/api/v1/subjects/${b.subjectId}/monitoring-orders`,
        });
        expect(res.statusCode).toBe(200);
        const items = res.json().items as { id: string; jurisdictionCode: string }[];
        expect(items.map((o) => o.id)).toEqual([b.orderId]);
        expect(items.every((o) => o.jurisdictionCode.startsWith(B.county))).toBe(true);
      }
    });

    it('end: bureau and admin only', async () => {
      await expectMatrix(
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
        async (user) => {
          const { orderId } = await seedOrder(s.db, A.township);
          return s.as(user, {
            method: 'POST',
            url: `/api/v1/monitoring-orders/${orderId}/end`,
            payload: { reason: '已无必要 / no longer needed' },
          });
        },
      );
    });

    it('extension request: officer, bureau and admin; decisions: bureau and admin', async () => {
      const request = (user: TestUser, orderId: string) =>
        s.as(user, {
          method: 'POST',
          url: `/api/v1/monitoring-orders/${orderId}/extensions`,
          payload: {
            newEndsAt: new Date(Date.now() + 40 * DAY).toISOString(),
            reason: '仍有违规风险',
          },
        });
      await expectMatrix(
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
        async (user) => request(user, (await seedOrder(s.db, A.township)).orderId),
      );
      for (const action of ['approve', 'reject'] as const) {
        await expectMatrix(
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
          async (user) => {
            const { orderId } = await seedOrder(s.db, A.township);
            const ext = (await request('officerA', orderId)).json();
            return s.as(user, {
              method: 'POST',
              url: `/api/v1/monitoring-orders/${orderId}/extensions/${ext.id}/${action}`,
              payload: { note: '同意 / decided' },
            });
          },
        );
      }
    });
  });

  describe('the 3-month rule', () => {
    it('refuses a 4-month order and accepts one of exactly 3 calendar months', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      const deviceId = await seedDevice(s.db, A.township);
      // 31 January + 3 months is 30 April in PostgreSQL (the month end is clamped).
      const startsAt = '2031-01-31T00:00:00.000Z';
      const fourMonths = await create(
        'bureauA',
        subjectId,
        orderBody(deviceId, startsAt, '2031-05-31T00:00:00.000Z'),
      );
      expect(fourMonths.statusCode).toBe(400);
      const error = fourMonths.json().error;
      expect(error.code).toBe('ORDER_TOO_LONG');
      expect(error.message).toContain('三个月');
      expect(error.message).toContain('at most 3 months');
      expect(error.message).toContain('2031-04-30T00:00:00.000Z');
      expect(error.details).toMatchObject({
        field: 'endsAt',
        maxEndsAt: '2031-04-30T00:00:00.000Z',
      });

      const oneMsOver = await create(
        'bureauA',
        subjectId,
        orderBody(deviceId, startsAt, '2031-04-30T00:00:00.001Z'),
      );
      expect(oneMsOver.json().error.code).toBe('ORDER_TOO_LONG');

      const threeMonths = await create(
        'bureauA',
        subjectId,
        orderBody(deviceId, startsAt, '2031-04-30T00:00:00.000Z'),
      );
      expect(threeMonths.statusCode).toBe(201);
      expect(threeMonths.json()).toMatchObject({
        subjectId,
        deviceId,
        legalGround: 'prohibition_order_violation',
        startsAt,
        initialEndsAt: '2031-04-30T00:00:00.000Z',
        endsAt: '2031-04-30T00:00:00.000Z',
        endedAt: null,
        status: 'pending',
        daysUsed: 0,
        daysLeft: 89,
        extensions: [],
      });
    });

    it('validates the body and names the field', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      const deviceId = await seedDevice(s.db, A.township);
      const window = [new Date(Date.now() - DAY), new Date(Date.now() + DAY)] as const;
      const badGround = await create('bureauA', subjectId, {
        ...orderBody(deviceId, ...window),
        legalGround: 'looked_suspicious',
      });
      expect(badGround.statusCode).toBe(400);
      expect(badGround.json().error.code).toBe('VALIDATION_FAILED');
      expect(badGround.json().error.message).toContain('legalGround');

      const { approverName: _omit, ...noApprover } = orderBody(deviceId, ...window);
      const missing = await create('bureauA', subjectId, noApprover);
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error.message).toContain('approverName');

      const backwards = await create(
        'bureauA',
        subjectId,
        orderBody(deviceId, window[1], window[0]),
      );
      expect(backwards.statusCode).toBe(400);
      expect(backwards.json().error.code).toBe('ORDER_INVALID_WINDOW');

      const beforeApproval = await create('bureauA', subjectId, {
        ...orderBody(deviceId, ...window),
        approvedAt: new Date(Date.now() - DAY / 2).toISOString(),
      });
      expect(beforeApproval.statusCode).toBe(400);
      expect(beforeApproval.json().error.code).toBe('ORDER_STARTS_BEFORE_APPROVAL');

      const rows = await s.db
        .selectFrom('monitoring_orders')
        .select('id')
        .where('subject_id', '=', subjectId)
        .execute();
      expect(rows).toHaveLength(0);
    });

    it('refuses an extension beyond 3 months, accepts one within, and approval moves the end', async () => {
      const endsAt = new Date(Math.floor((Date.now() + 30 * DAY) / 1000) * 1000);
      const { orderId } = await seedOrder(s.db, A.township, {
        startsAt: new Date(Date.now() - DAY),
        endsAt,
      });
      const limit = await sql<{
        limit: Date;
      }>`select ${endsAt}::timestamptz + interval '3 months' as "limit"`.execute(s.db);
      const maxEndsAt = new Date(limit.rows[0]!.limit);
      const ask = (newEndsAt: Date) =>
        s.as('officerA', {
          method: 'POST',
          url: `/api/v1/monitoring-orders/${orderId}/extensions`,
          payload: { newEndsAt: newEndsAt.toISOString(), reason: '仍需电子定位' },
        });

      const tooLong = await ask(new Date(maxEndsAt.getTime() + 1));
      expect(tooLong.statusCode).toBe(400);
      expect(tooLong.json().error.code).toBe('EXTENSION_TOO_LONG');
      expect(tooLong.json().error.message).toContain(maxEndsAt.toISOString());

      const notLater = await ask(new Date(endsAt.getTime() - DAY));
      expect(notLater.json().error.code).toBe('EXTENSION_NOT_LATER');

      const ok = await ask(maxEndsAt);
      expect(ok.statusCode).toBe(201);
      const ext = ok.json();
      expect(ext).toMatchObject({
        orderId,
        status: 'pending',
        previousEndsAt: endsAt.toISOString(),
        newEndsAt: maxEndsAt.toISOString(),
      });
      // One pending request at a time.
      expect((await ask(new Date(endsAt.getTime() + DAY))).json().error.code).toBe(
        'EXTENSION_PENDING',
      );
      // Requested is not approved: the end has not moved.
      const before = (
        await s.as('officerA', { url: `/api/v1/monitoring-orders/${orderId}` })
      ).json();
      expect(before.endsAt).toBe(endsAt.toISOString());
      expect(before.extensions).toMatchObject([{ id: ext.id, status: 'pending' }]);

      const approved = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/monitoring-orders/${orderId}/extensions/${ext.id}/approve`,
        payload: {},
      });
      expect(approved.statusCode).toBe(200);
      expect(approved.json()).toMatchObject({
        endsAt: maxEndsAt.toISOString(),
        initialEndsAt: endsAt.toISOString(),
        status: 'active',
        extensions: [{ id: ext.id, status: 'approved', decidedBy: s.userIds.bureauA }],
      });
      const stored = await s.db
        .selectFrom('monitoring_orders')
        .select('ends_at')
        .where('id', '=', orderId)
        .executeTakeFirstOrThrow();
      expect(stored.ends_at.toISOString()).toBe(maxEndsAt.toISOString());

      const again = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/monitoring-orders/${orderId}/extensions/${ext.id}/approve`,
        payload: {},
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe('EXTENSION_DECIDED');
    });

    it('a rejection needs a note and leaves the end where it was', async () => {
      const { orderId } = await seedOrder(s.db, A.township);
      const before = (
        await s.as('bureauA', { url: `/api/v1/monitoring-orders/${orderId}` })
      ).json();
      const ext = (
        await s.as('officerA', {
          method: 'POST',
          url: `/api/v1/monitoring-orders/${orderId}/extensions`,
          payload: { newEndsAt: new Date(Date.now() + 60 * DAY).toISOString(), reason: '申请延期' },
        })
      ).json();
      const url = `/api/v1/monitoring-orders/${orderId}/extensions/${ext.id}/reject`;
      const noNote = await s.as('bureauA', { method: 'POST', url, payload: {} });
      expect(noNote.statusCode).toBe(400);
      expect(noNote.json().error.message).toContain('note');
      const rejected = await s.as('bureauA', {
        method: 'POST',
        url,
        payload: { note: '情形已消失 / no longer warranted' },
      });
      expect(rejected.statusCode).toBe(200);
      expect(rejected.json().endsAt).toBe(before.endsAt);
      expect(rejected.json().extensions[0]).toMatchObject({
        status: 'rejected',
        decisionNote: '情形已消失 / no longer warranted',
      });
    });
  });

  describe('overlap, early end and status', () => {
    it('refuses a device or subject already in an overlapping order', async () => {
      const now = Date.now();
      const subject1 = await seedSubject(s.db, A.township);
      const subject2 = await seedSubject(s.db, A.township);
      const device1 = await seedDevice(s.db, A.township);
      const device2 = await seedDevice(s.db, A.township);
      const first = await create(
        'bureauA',
        subject1,
        orderBody(device1, new Date(now - DAY), new Date(now + 30 * DAY)),
      );
      expect(first.statusCode).toBe(201);

      const sameDevice = await create(
        'bureauA',
        subject2,
        orderBody(device1, new Date(now + 29 * DAY), new Date(now + 60 * DAY)),
      );
      expect(sameDevice.statusCode).toBe(409);
      expect(sameDevice.json().error.code).toBe('DEVICE_IN_ORDER');

      const sameSubject = await create(
        'bureauA',
        subject1,
        orderBody(device2, new Date(now + 10 * DAY), new Date(now + 40 * DAY)),
      );
      expect(sameSubject.statusCode).toBe(409);
      expect(sameSubject.json().error.code).toBe('SUBJECT_IN_ORDER');

      // Back to back is not an overlap: windows are [start, end).
      const next = await create(
        'bureauA',
        subject2,
        orderBody(device1, first.json().endsAt, new Date(now + 60 * DAY)),
      );
      expect(next.statusCode).toBe(201);
      expect(next.json().status).toBe('pending');
    });

    it('ends an order early with a reason; the device is then free', async () => {
      const now = Date.now();
      const subjectId = await seedSubject(s.db, A.township);
      const deviceId = await seedDevice(s.db, A.township);
      const order = (
        await create('bureauA', subjectId, {
          ...orderBody(deviceId, new Date(now - 10 * DAY), new Date(now + 30 * DAY)),
          approvedAt: new Date(now - 11 * DAY).toISOString(),
        })
      ).json();
      expect(order).toMatchObject({ status: 'active', daysUsed: 10, daysLeft: 30 });
      const ext = await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/monitoring-orders/${order.id}/extensions`,
        payload: { newEndsAt: new Date(now + 50 * DAY).toISOString(), reason: '延期' },
      });
      expect(ext.statusCode).toBe(201);

      const url = `/api/v1/monitoring-orders/${order.id}/end`;
      const noReason = await s.as('bureauA', { method: 'POST', url, payload: {} });
      expect(noReason.statusCode).toBe(400);
      expect(noReason.json().error.message).toContain('reason');

      const ended = await s.as('bureauA', {
        method: 'POST',
        url,
        payload: { reason: '禁止令期满，已无必要 / no longer needed' },
      });
      expect(ended.statusCode).toBe(200);
      const body = ended.json();
      expect(body).toMatchObject({
        status: 'ended',
        daysLeft: 0,
        endReason: '禁止令期满，已无必要 / no longer needed',
      });
      expect(Date.parse(body.endedAt)).toBeGreaterThanOrEqual(now);
      expect(Date.parse(body.endedAt)).toBeLessThanOrEqual(Date.now());
      // The open extension request went with it.
      expect(body.extensions).toMatchObject([{ id: ext.json().id, status: 'rejected' }]);

      const twice = await s.as('bureauA', { method: 'POST', url, payload: { reason: 'again' } });
      expect(twice.statusCode).toBe(409);
      expect(twice.json().error.code).toBe('ORDER_NOT_ACTIVE');
      const extendEnded = await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/monitoring-orders/${order.id}/extensions`,
        payload: { newEndsAt: new Date(now + 50 * DAY).toISOString(), reason: '延期' },
      });
      expect(extendEnded.statusCode).toBe(409);

      // The original window no longer holds the device or the subject.
      const reuse = await create(
        'bureauA',
        subjectId,
        orderBody(deviceId, new Date(Date.now() + 1000), new Date(now + 20 * DAY)),
      );
      expect(reuse.statusCode).toBe(201);
    });

    it('derives expired and pending', async () => {
      const now = Date.now();
      const expired = await seedOrder(s.db, A.township, {
        startsAt: new Date(now - 40 * DAY),
        endsAt: new Date(now - 10 * DAY),
      });
      const res = (
        await s.as('auditorA', { url: `/api/v1/monitoring-orders/${expired.orderId}` })
      ).json();
      expect(res).toMatchObject({ status: 'expired', daysLeft: 0, daysUsed: 30 });
      const pending = await seedOrder(s.db, A.township, {
        startsAt: new Date(now + 2 * DAY),
        endsAt: new Date(now + 12 * DAY),
      });
      const p = (
        await s.as('auditorA', { url: `/api/v1/monitoring-orders/${pending.orderId}` })
      ).json();
      expect(p).toMatchObject({ status: 'pending', daysLeft: 10, daysUsed: 0 });
    });

    it('pages a subject’s orders newest first without repeats', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      const deviceId = await seedDevice(s.db, A.township);
      const now = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await create(
          'bureauA',
          subjectId,
          orderBody(
            deviceId,
            new Date(now + (i * 10 + 1) * DAY),
            new Date(now + (i * 10 + 5) * DAY),
          ),
        );
        expect(res.statusCode).toBe(201);
        ids.push(res.json().id);
      }
      const url = `/api/v1/subjects/${subjectId}/monitoring-orders`;
      const first = (await s.as('officerA', { url: `${url}?limit=2` })).json();
      expect(first.items.map((o: { id: string }) => o.id)).toEqual([ids[2], ids[1]]);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = (
        await s.as('officerA', { url: `${url}?limit=2&cursor=${first.nextCursor}` })
      ).json();
      expect(second.items.map((o: { id: string }) => o.id)).toEqual([ids[0]]);
      expect(second.nextCursor).toBeNull();
      const bad = await s.as('officerA', { url: `${url}?cursor=garbage` });
      expect(bad.statusCode).toBe(400);
    });
  });

  it('audits every change', async () => {
    const subjectId = await seedSubject(s.db, A.township);
    const deviceId = await seedDevice(s.db, A.township);
    const now = Date.now();
    const order = (
      await create(
        'admin',
        subjectId,
        orderBody(deviceId, new Date(now - DAY), new Date(now + 9 * DAY)),
      )
    ).json();
    const ext = (
      await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/monitoring-orders/${order.id}/extensions`,
        payload: { newEndsAt: new Date(now + 20 * DAY).toISOString(), reason: '延期' },
      })
    ).json();
    await s.as('bureauA', {
      method: 'POST',
      url: `/api/v1/monitoring-orders/${order.id}/extensions/${ext.id}/approve`,
      payload: { note: '同意' },
    });
    await s.as('bureauA', {
      method: 'POST',
      url: `/api/v1/monitoring-orders/${order.id}/end`,
      payload: { reason: '已无必要' },
    });
    const entries = await s.db
      .selectFrom('audit_log')
      .select(['action', 'actor_username', 'jurisdiction_code', 'detail'])
      .where('resource_type', '=', 'monitoring_order')
      .where('resource_id', '=', order.id)
      .orderBy('id')
      .execute();
    expect(entries.map((e) => [e.action, e.actor_username])).toEqual([
      ['monitoring_order.create', 'admin'],
      ['monitoring_order.extension_request', 'officerA'],
      ['monitoring_order.extension_approve', 'bureauA'],
      ['monitoring_order.end', 'bureauA'],
    ]);
    expect(entries.every((e) => e.jurisdiction_code === A.township)).toBe(true);
    expect(entries[0]!.detail).toMatchObject({
      subjectId,
      deviceId,
      legalGround: 'prohibition_order_violation',
    });
    // bureauA reads these entries through the audit API (its scope covers the township).
    const viaApi = await s.as('bureauA', { url: `/api/v1/audit?resourceId=${order.id}` });
    expect(viaApi.json().items).toHaveLength(4);
    expect((await s.as('admin', { url: '/api/v1/audit/verify' })).json().ok).toBe(true);
  });
});
