import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { A, B, USERS, startTestServer, type TestServer, type TestUser } from './support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let seq = 0;

/** A subject on one side's township office with a device and (optionally) one order. */
async function seedSubject(
  db: Kysely<DB>,
  side: 'A' | 'B',
  name: string,
  order: { startsAt: Date; endsAt: Date } | null,
) {
  seq++;
  const office = side === 'A' ? A : B;
  const idCardNo = syntheticIdCardNo(office.county, '1979-11-30', seq);
  const subject = await db
    .insertInto('subjects')
    .values({
      name,
      id_card_no: idCardNo,
      correction_type: 'parole',
      term_start: '2026-01-01',
      term_end: '2028-12-31',
      jurisdiction_code: office.township,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
  const deviceId = `police-dev-${side}-${seq}`;
  const device = await db
    .insertInto('devices')
    .values({
      id: deviceId,
      kind: 'wristband',
      secret_hash: hashDeviceSecret('not-used-in-these-tests'),
      jurisdiction_code: office.township,
    })
    .returning('no')
    .executeTakeFirstOrThrow();
  if (order)
    await db
      .insertInto('monitoring_orders')
      .values({
        subject_id: subject.id,
        device_id: deviceId,
        legal_ground: 'pending_revocation',
        approver_name: '测试局长',
        approved_at: order.startsAt,
        starts_at: order.startsAt,
        initial_ends_at: order.endsAt,
        ends_at: order.endsAt,
      })
      .execute();
  return { subjectId: subject.id, subjectNo: subject.no, deviceNo: device.no, idCardNo };
}

const ALL_USERS = Object.keys(USERS) as TestUser[];
const BASIS = '《刑事诉讼法》第一百一十五条 侦查需要';

describe('police position queries', () => {
  let s: TestServer;
  const now = Date.now();
  const t = (ms: number) => new Date(now + ms);
  let wanted: Awaited<ReturnType<typeof seedSubject>>;
  let unordered: Awaited<ReturnType<typeof seedSubject>>;
  let sideB: Awaited<ReturnType<typeof seedSubject>>;
  const insideTimes = [t(-4 * DAY), t(-3 * DAY), t(-2 * DAY)];

  beforeAll(async () => {
    s = await startTestServer();
    wanted = await seedSubject(s.db, 'A', '韦协查', {
      startsAt: t(-5 * DAY),
      endsAt: t(5 * DAY),
    });
    unordered = await seedSubject(s.db, 'A', '韦无令', null);
    sideB = await seedSubject(s.db, 'B', '韦乙方', { startsAt: t(-5 * DAY), endsAt: t(5 * DAY) });
    await s.db
      .insertInto('fixes')
      .values(
        [t(-6 * DAY), ...insideTimes].map((fixT, i) => ({
          device_no: wanted.deviceNo,
          t: fixT,
          subject_no: wanted.subjectNo,
          lat_e6: 22_810_000 + i,
          lon_e6: 108_320_000 + i,
          acc_dm: 60,
          src: 0,
          spd_cms: null,
          hdg_deg: null,
          sat: 10,
          flags: 0,
          recv_lag_ms: 800,
        })),
      )
      .execute();
  });
  afterAll(async () => s?.close());

  const ask = (user: TestUser, body: Record<string, unknown>) =>
    s.as(user, { method: 'POST', url: '/api/v1/police/position-queries', payload: body });
  const valid = () => ({
    subjectId: wanted.subjectId,
    from: t(-7 * DAY).toISOString(),
    to: t(-DAY).toISOString(),
    legalBasis: BASIS,
    caseNumber: '青公(刑)立字〔2026〕1234号',
  });
  const queryRows = () =>
    s.db.selectFrom('police_queries').selectAll().orderBy('created_at').execute();
  const auditRows = () =>
    s.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'police.position_query')
      .orderBy('id')
      .execute();

  it('refuses a query without a legal basis or a case number (400 naming the field)', async () => {
    const before = (await queryRows()).length;
    for (const [body, field] of [
      [{ ...valid(), legalBasis: undefined }, 'legalBasis'],
      [{ ...valid(), legalBasis: '侦查' }, 'legalBasis'],
      [{ ...valid(), legalBasis: '     ' }, 'legalBasis'],
      [{ ...valid(), caseNumber: undefined }, 'caseNumber'],
      [{ ...valid(), caseNumber: '' }, 'caseNumber'],
      [{ ...valid(), to: t(30 * DAY).toISOString() }, 'to'],
      [{ ...valid(), subjectId: 'someone' }, 'subjectId'],
    ] as const) {
      const res = await ask('policeA', body);
      expect(res.statusCode, field).toBe(400);
      expect(res.json().error.message, field).toContain(field);
    }
    expect(await queryRows()).toHaveLength(before);
  });

  it('answers inside the monitoring order with exactly the fixes inside it, and logs the query', async () => {
    const res = await ask('policeA', valid());
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      subjectId: wanted.subjectId,
      outcome: 'answered',
      fixesReturned: 3,
    });
    expect(body.points.map((p: { t: string }) => p.t)).toEqual(
      insideTimes.map((x) => x.toISOString()),
    );
    const row = (await queryRows()).find((r) => r.id === body.id)!;
    expect(row).toMatchObject({
      user_id: s.userIds.policeA,
      subject_id: wanted.subjectId,
      legal_basis: BASIS,
      case_number: '青公(刑)立字〔2026〕1234号',
      fixes_returned: 3,
      outcome: 'answered',
      refusal_reason: null,
    });
    const entry = (await auditRows()).at(-1)!;
    expect(entry).toMatchObject({
      actor_id: s.userIds.policeA,
      resource_id: wanted.subjectId,
      jurisdiction_code: A.township,
    });
    expect(entry.detail).toMatchObject({
      queryId: body.id,
      subjectId: wanted.subjectId,
      from: valid().from,
      to: valid().to,
      legalBasis: BASIS,
      caseNumber: '青公(刑)立字〔2026〕1234号',
      outcome: 'answered',
      fixesReturned: 3,
    });
  });

  it('refuses a window outside every order with 403 NO_MONITORING_ORDER, and logs the refusal', async () => {
    const res = await ask('policeA', {
      ...valid(),
      from: t(-20 * DAY).toISOString(),
      to: t(-10 * DAY).toISOString(),
      caseNumber: 'CASE-OUTSIDE',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('NO_MONITORING_ORDER');
    const row = (await queryRows()).find((r) => r.case_number === 'CASE-OUTSIDE')!;
    expect(row).toMatchObject({
      user_id: s.userIds.policeA,
      subject_id: wanted.subjectId,
      outcome: 'refused',
      refusal_reason: 'NO_MONITORING_ORDER',
      fixes_returned: 0,
    });
    const entry = (await auditRows()).at(-1)!;
    expect(entry.detail).toMatchObject({
      queryId: row.id,
      caseNumber: 'CASE-OUTSIDE',
      outcome: 'refused',
      refusalReason: 'NO_MONITORING_ORDER',
      fixesReturned: 0,
    });
    // A subject with no order at all is refused the same way.
    const none = await ask('policeA', {
      ...valid(),
      subjectId: unordered.subjectId,
      caseNumber: 'CASE-NO-ORDER',
    });
    expect(none.statusCode).toBe(403);
    expect(none.json().error.code).toBe('NO_MONITORING_ORDER');
  });

  it('refuses a subject outside the partner’s jurisdiction as not found, and logs that too', async () => {
    const res = await ask('policeB', { ...valid(), caseNumber: 'CASE-B-PROBE' });
    expect(res.statusCode).toBe(404);
    const missing = await ask('policeB', {
      ...valid(),
      subjectId: '00000000-0000-4000-8000-000000000000',
      caseNumber: 'CASE-B-MISSING',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual(res.json());
    const rows = (await queryRows()).filter((r) => r.user_id === s.userIds.policeB);
    expect(rows.map((r) => [r.case_number, r.subject_id, r.outcome, r.refusal_reason])).toEqual([
      ['CASE-B-PROBE', null, 'refused', 'SUBJECT_NOT_FOUND'],
      ['CASE-B-MISSING', null, 'refused', 'SUBJECT_NOT_FOUND'],
    ]);
    const entries = (await auditRows()).filter((e) => e.actor_id === s.userIds.policeB);
    expect(entries.map((e) => (e.detail as { subjectId: string }).subjectId)).toEqual([
      wanted.subjectId,
      '00000000-0000-4000-8000-000000000000',
    ]);
  });

  it('only police may query; every query made so far is in police_queries and audit_log', async () => {
    for (const user of ALL_USERS.filter((u) => !u.startsWith('police'))) {
      const res = await ask(user, { ...valid(), caseNumber: `CASE-${user}` });
      expect(res.statusCode, user).toBe(403);
    }
    const rows = await queryRows();
    expect(
      rows.some(
        (r) =>
          r.case_number.startsWith('CASE-') &&
          r.user_id !== s.userIds.policeA &&
          r.user_id !== s.userIds.policeB,
      ),
    ).toBe(false);
    const entries = await auditRows();
    expect(entries).toHaveLength(rows.length);
    expect(new Set(entries.map((e) => (e.detail as { queryId: string }).queryId))).toEqual(
      new Set(rows.map((r) => r.id)),
    );
  });

  it('lists queries: police their own, bureau and auditor those in scope; others 403', async () => {
    const list = async (user: TestUser) => {
      const res = await s.as(user, { url: '/api/v1/police/position-queries?limit=500' });
      expect(res.statusCode, user).toBe(200);
      return res.json().items as {
        userId: string;
        caseNumber: string;
        subjectId: string | null;
        outcome: string;
      }[];
    };
    const mineA = await list('policeA');
    expect(mineA.length).toBeGreaterThanOrEqual(3);
    expect(mineA.every((q) => q.userId === s.userIds.policeA)).toBe(true);
    const mineB = await list('policeB');
    expect(mineB.map((q) => [q.caseNumber, q.subjectId])).toEqual([
      ['CASE-B-MISSING', null],
      ['CASE-B-PROBE', null],
    ]);
    for (const user of ['bureauA', 'auditorA'] as const) {
      const items = await list(user);
      expect(items.map((q) => q.caseNumber).sort(), user).toEqual(
        mineA.map((q) => q.caseNumber).sort(),
      );
    }
    for (const user of ['bureauB', 'auditorB'] as const) {
      const items = await list(user);
      expect(items.map((q) => q.caseNumber).sort(), user).toEqual(
        ['CASE-B-MISSING', 'CASE-B-PROBE'].sort(),
      );
    }
    for (const user of ['officerA', 'admin'] as const)
      expect((await s.as(user, { url: '/api/v1/police/position-queries' })).statusCode, user).toBe(
        403,
      );

    // Keyset paging: newest first, every query once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { items: { caseNumber: string }[]; nextCursor: string | null } = (
        await s.as('policeA', {
          url: `/api/v1/police/position-queries?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        })
      ).json();
      seen.push(...res.items.map((q) => q.caseNumber));
      cursor = res.nextCursor;
    } while (cursor && seen.length < 50);
    expect(seen).toEqual(mineA.map((q) => q.caseNumber));
  });

  it('finds subjects for the query form: in scope, with an active order, ID number masked', async () => {
    const search = async (user: TestUser, term: string) => {
      const res = await s.as(user, {
        url: `/api/v1/police/subjects?q=${encodeURIComponent(term)}`,
      });
      expect(res.statusCode, user).toBe(200);
      return res.json().items as {
        id: string;
        name: string;
        idCardNoMasked: string;
        jurisdictionCode: string;
      }[];
    };
    const found = await search('policeA', '韦');
    expect(found.map((x) => x.id)).toEqual([wanted.subjectId]);
    expect(found[0]).toMatchObject({ name: '韦协查', jurisdictionCode: A.township });
    expect(found[0]!.idCardNoMasked).not.toBe(wanted.idCardNo);
    expect(found[0]!.idCardNoMasked).toMatch(/^\d{4}\*{10}[0-9X]{4}$/);
    expect((await search('policeA', wanted.idCardNo)).map((x) => x.id)).toEqual([wanted.subjectId]);
    expect((await search('policeA', '%')).map((x) => x.id)).toEqual([]);
    expect((await search('policeB', '韦')).map((x) => x.id)).toEqual([sideB.subjectId]);
    for (const user of ALL_USERS.filter((u) => !u.startsWith('police')))
      expect(
        (await s.as(user, { url: '/api/v1/police/subjects?q=%E9%9F%A6' })).statusCode,
        user,
      ).toBe(403);
    expect((await s.as('policeA', { url: '/api/v1/police/subjects' })).statusCode).toBe(400);
  });
});
