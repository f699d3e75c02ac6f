import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { A, B, USERS, startTestServer, type TestServer, type TestUser } from './support';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
let seq = 0;

interface Order {
  startsAt: Date;
  endsAt: Date;
  endedAt?: Date;
}

/** A subject on one side's township office with a device and the given monitoring orders. */
async function seedSubject(db: Kysely<DB>, side: 'A' | 'B', orders: Order[]) {
  seq++;
  const office = side === 'A' ? A : B;
  const subject = await db
    .insertInto('subjects')
    .values({
      name: `定位对象${side}${seq}`,
      id_card_no: syntheticIdCardNo(office.county, '1990-02-02', seq),
      correction_type: 'probation',
      term_start: '2026-01-01',
      term_end: '2028-12-31',
      jurisdiction_code: office.township,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
  const deviceId = `pos-dev-${side}-${seq}`;
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
  for (const o of orders) {
    await db
      .insertInto('monitoring_orders')
      .values({
        subject_id: subject.id,
        device_id: deviceId,
        legal_ground: 'prohibition_order_violation',
        approver_name: '测试局长',
        approved_at: o.startsAt,
        starts_at: o.startsAt,
        initial_ends_at: o.endsAt,
        ends_at: o.endsAt,
        ended_at: o.endedAt ?? null,
      })
      .execute();
  }
  return { subjectId: subject.id, subjectNo: subject.no, deviceId, deviceNo: device.no };
}

type Seeded = Awaited<ReturnType<typeof seedSubject>>;

async function seedFixes(
  db: Kysely<DB>,
  s: Seeded,
  times: Date[],
  extra: Partial<{ acc_dm: number; src: number; spd_cms: number; flags: number }> = {},
) {
  if (times.length === 0) return;
  await db
    .insertInto('fixes')
    .values(
      times.map((t, i) => ({
        device_no: s.deviceNo,
        t,
        subject_no: s.subjectNo,
        lat_e6: 22_817_000 + i,
        lon_e6: 108_366_000 + i,
        acc_dm: extra.acc_dm ?? 80,
        src: extra.src ?? 0,
        spd_cms: extra.spd_cms ?? null,
        hdg_deg: null,
        sat: 9,
        flags: extra.flags ?? 0,
        recv_lag_ms: 1200,
      })),
    )
    .execute();
}

async function setDeviceState(
  db: Kysely<DB>,
  s: Seeded,
  lastFix: Date,
  extra: { battery?: number; online?: boolean } = {},
) {
  await db
    .insertInto('device_state')
    .values({
      device_no: s.deviceNo,
      last_seen_at: lastFix,
      last_seq: 1,
      acked_seq: 1,
      battery: extra.battery ?? 77,
      charging: false,
      rssi: -70,
      firmware: '1.0',
      online: extra.online ?? true,
      online_changed_at: lastFix,
      last_fix_t: lastFix,
      last_lat_e6: 22_800_000,
      last_lon_e6: 108_300_000,
      last_acc_dm: 120,
      last_src: 2,
      report_interval_s: 60,
    })
    .execute();
}

const ALL_USERS = Object.keys(USERS) as TestUser[];
const q = (from: Date, to: Date, more = '') =>
  `from=${from.toISOString()}&to=${to.toISOString()}${more}`;

describe('positions', () => {
  let s: TestServer;
  // Track subject: order 1 [D, D+5d); order 2 [D+10d, D+20d) ended early at D+12d.
  const D = new Date('2026-09-01T00:00:00Z');
  const at = (ms: number) => new Date(D.getTime() + ms);
  let track: Seeded;
  const inside = [at(0), at(HOUR), at(2 * HOUR), at(DAY), at(11 * DAY)];

  beforeAll(async () => {
    s = await startTestServer();
    track = await seedSubject(s.db, 'A', [
      { startsAt: D, endsAt: at(5 * DAY) },
      { startsAt: at(10 * DAY), endsAt: at(20 * DAY), endedAt: at(12 * DAY) },
    ]);
    await seedFixes(s.db, track, [
      at(-HOUR), // before any order
      at(-1), // a millisecond before the order starts
      ...inside,
      at(5 * DAY), // the order's end is exclusive
      at(5 * DAY + HOUR), // between the orders
      at(13 * DAY), // inside ends_at but after the early end
      at(25 * DAY), // after every order
    ]);
  });
  afterAll(async () => s?.close());

  it('returns only fixes inside the subject’s monitoring orders', async () => {
    const res = await s.as('officerA', {
      url: `/api/v1/subjects/${track.subjectId}/positions?${q(at(-2 * DAY), at(26 * DAY))}`,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.points.map((p: { t: string }) => p.t)).toEqual(inside.map((t) => t.toISOString()));
    expect(body).toMatchObject({ total: inside.length, downsampled: false });
    expect(body.orderWindows).toEqual([
      { startsAt: D.toISOString(), endsAt: at(5 * DAY).toISOString() },
      { startsAt: at(10 * DAY).toISOString(), endsAt: at(12 * DAY).toISOString() },
    ]);
    // A window entirely outside the orders has nothing, even with fixes stored there.
    const outside = await s.as('bureauA', {
      url: `/api/v1/subjects/${track.subjectId}/positions?${q(at(5 * DAY), at(10 * DAY))}&raw=true`,
    });
    expect(outside.json()).toMatchObject({ total: 0, points: [], orderWindows: [] });
    const after = await s.as('auditorA', {
      url: `/api/v1/subjects/${track.subjectId}/positions?${q(at(12 * DAY), at(30 * DAY))}`,
    });
    expect(after.json().points).toEqual([]);
  });

  it('maps stored units to the API point', async () => {
    const subj = await seedSubject(s.db, 'A', [{ startsAt: D, endsAt: at(30 * DAY) }]);
    await seedFixes(s.db, subj, [at(HOUR)], { acc_dm: 2500, src: 1, spd_cms: 150, flags: 3 });
    await seedFixes(s.db, subj, [at(2 * HOUR)], { acc_dm: 45, src: 2, flags: 0 });
    const res = await s.as('officerA', {
      url: `/api/v1/subjects/${subj.subjectId}/positions?${q(D, at(DAY))}`,
    });
    expect(res.json().points).toEqual([
      {
        t: at(HOUR).toISOString(),
        lat: 22.817,
        lon: 108.366,
        accuracyM: 250,
        source: 'lbs',
        speedMps: 1.5,
        late: true,
        lowAccuracy: true,
      },
      {
        t: at(2 * HOUR).toISOString(),
        lat: 22.817,
        lon: 108.366,
        accuracyM: 4.5,
        source: 'wifi',
        speedMps: null,
        late: false,
        lowAccuracy: false,
      },
    ]);
  });

  it('downsamples long tracks keeping the first, the last and evenly spaced points', async () => {
    const subj = await seedSubject(s.db, 'A', [{ startsAt: D, endsAt: at(30 * DAY) }]);
    const times = Array.from({ length: 1001 }, (_, i) => at(HOUR + i * MIN));
    await seedFixes(s.db, subj, [at(-10 * MIN), at(-5 * MIN), ...times]);
    const url = (more: string) =>
      `/api/v1/subjects/${subj.subjectId}/positions?${q(at(-DAY), at(2 * DAY), more)}`;

    const small = (await s.as('officerA', { url: url('&maxPoints=100') })).json();
    expect(small).toMatchObject({ downsampled: true, total: 1001 });
    const ts: number[] = small.points.map((p: { t: string }) => Date.parse(p.t));
    expect(ts).toHaveLength(100);
    expect(ts[0]).toBe(times[0]!.getTime());
    expect(ts.at(-1)).toBe(times.at(-1)!.getTime());
    // 1000 gaps of a minute over 99 steps: every step is 10 or 11 minutes.
    const gaps = ts.slice(1).map((t, i) => (t - ts[i]!) / MIN);
    expect(new Set(gaps)).toEqual(new Set([10, 11]));
    // Exactly the points round(k·1000/(m−1)), k = 0…m−1, halves rounded up.
    for (const m of [3, 7, 37, 100, 999]) {
      const picked = (await s.as('officerA', { url: url(`&maxPoints=${m}`) })).json();
      const expected = Array.from({ length: m }, (_, k) =>
        times[Math.floor((2 * k * 1000 + (m - 1)) / (2 * (m - 1)))]!.toISOString(),
      );
      expect(picked.points.map((p: { t: string }) => p.t)).toEqual(expected);
    }

    const byDefault = (await s.as('officerA', { url: url('') })).json();
    expect(byDefault).toMatchObject({ downsampled: false, total: 1001 });
    expect(byDefault.points).toHaveLength(1001);
    const raw = (await s.as('officerA', { url: url('&maxPoints=100&raw=true') })).json();
    expect(raw).toMatchObject({ downsampled: false, total: 1001 });
    expect(raw.points).toHaveLength(1001);
    const two = (await s.as('officerA', { url: url('&maxPoints=2') })).json();
    expect(two.points.map((p: { t: string }) => p.t)).toEqual([
      times[0]!.toISOString(),
      times.at(-1)!.toISOString(),
    ]);
  });

  it('requires a window of at most 31 days', async () => {
    const base = `/api/v1/subjects/${track.subjectId}/positions`;
    const check = async (query: string, field: string) => {
      const res = await s.as('officerA', { url: `${base}?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(res.json().error.message, query).toContain(field);
    };
    await check(`to=${D.toISOString()}`, 'from');
    await check(`from=${D.toISOString()}`, 'to');
    await check(q(D, at(31 * DAY + 1)), 'to');
    await check(q(D, D), 'to');
    await check(q(D, at(DAY), '&maxPoints=1'), 'maxPoints');
    await check(q(D, at(DAY), '&raw=yes'), 'raw');
    expect((await s.as('officerA', { url: `${base}?${q(D, at(31 * DAY))}` })).statusCode).toBe(200);
  });

  it('access: officer, bureau and auditor in scope; admin and police 403; side B 404', async () => {
    const expected: Record<TestUser, number> = {
      admin: 403,
      bureauA: 200,
      policeA: 403,
      auditorA: 200,
      officerA: 200,
      bureauB: 404,
      policeB: 403,
      auditorB: 404,
      officerB: 404,
    };
    for (const user of ALL_USERS) {
      const res = await s.as(user, {
        url: `/api/v1/subjects/${track.subjectId}/positions?${q(D, at(DAY))}`,
      });
      expect(res.statusCode, user).toBe(expected[user]);
      if (res.statusCode === 404) expect(res.json().error.code).toBe('SUBJECT_NOT_FOUND');
    }
    for (const user of ['admin', 'policeA', 'policeB'] as const)
      expect((await s.as(user, { url: '/api/v1/positions/latest' })).statusCode, user).toBe(403);
  });

  it('audits every track read with subject, window and count', async () => {
    const from = at(-2 * DAY);
    const to = at(3 * DAY);
    const res = await s.as('auditorA', {
      url: `/api/v1/subjects/${track.subjectId}/positions?${q(from, to)}`,
    });
    expect(res.json().points).toHaveLength(4);
    const entry = await s.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'positions.read')
      .where('actor_id', '=', s.userIds.auditorA)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({
      resource_type: 'subject',
      resource_id: track.subjectId,
      jurisdiction_code: A.township,
    });
    expect(entry.detail).toMatchObject({
      subjectId: track.subjectId,
      from: from.toISOString(),
      to: to.toISOString(),
      count: 4,
      total: 4,
      downsampled: false,
    });
    // A refused read (out of scope) is not a read of positions.
    const before = await s.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'positions.read')
      .execute();
    await s.as('officerB', {
      url: `/api/v1/subjects/${track.subjectId}/positions?${q(from, to)}`,
    });
    const after = await s.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'positions.read')
      .execute();
    expect(after).toHaveLength(before.length);
  });
});

describe('positions: latest', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('shows the latest fix of subjects with an active order, only when the fix lies inside it', async () => {
    const now = Date.now();
    const t = (ms: number) => new Date(now + ms);
    const active = { startsAt: t(-10 * DAY), endsAt: t(10 * DAY) };
    // Fix inside the active order: shown.
    const shown = await seedSubject(s.db, 'A', [active]);
    await setDeviceState(s.db, shown, t(-MIN), { battery: 64 });
    // The order began an hour ago; the last fix is from before it: hidden.
    const beforeOrder = await seedSubject(s.db, 'A', [{ startsAt: t(-HOUR), endsAt: t(DAY) }]);
    await setDeviceState(s.db, beforeOrder, t(-2 * HOUR));
    // The order was ended early yesterday; its last fix lay inside it: hidden (not active).
    const ended = await seedSubject(s.db, 'A', [
      { startsAt: t(-10 * DAY), endsAt: t(10 * DAY), endedAt: t(-DAY) },
    ]);
    await setDeviceState(s.db, ended, t(-2 * DAY));
    // No order at all: hidden.
    const noOrder = await seedSubject(s.db, 'A', []);
    await setDeviceState(s.db, noOrder, t(-MIN));
    // Side B: shown to side B only.
    const sideB = await seedSubject(s.db, 'B', [active]);
    await setDeviceState(s.db, sideB, t(-MIN));

    const alertBase = {
      subject_id: shown.subjectId,
      device_id: shown.deviceId,
      jurisdiction_code: A.township,
      started_at: t(-HOUR),
      evidence: '{}',
    };
    await s.db
      .insertInto('alerts')
      .values([
        { ...alertBase, type: 'sos', severity: 'critical', dedupe_key: 'l/1' },
        {
          ...alertBase,
          type: 'curfew',
          severity: 'high',
          status: 'acknowledged',
          dedupe_key: 'l/2',
        },
        {
          ...alertBase,
          type: 'battery_low',
          severity: 'low',
          status: 'resolved',
          dedupe_key: 'l/3',
        },
      ])
      .execute();

    const latest = async (user: TestUser, query = '') => {
      const res = await s.as(user, { url: `/api/v1/positions/latest${query}` });
      expect(res.statusCode, user).toBe(200);
      return res.json() as {
        items: { subjectId: string; [k: string]: unknown }[];
        nextCursor: string | null;
      };
    };
    for (const user of ['officerA', 'bureauA', 'auditorA'] as const) {
      const { items } = await latest(user);
      expect(
        items.map((i) => i.subjectId),
        user,
      ).toEqual([shown.subjectId]);
    }
    const [item] = (await latest('officerA')).items;
    expect(item).toEqual({
      subjectId: shown.subjectId,
      subjectName: expect.stringContaining('定位对象A'),
      deviceId: shown.deviceId,
      t: t(-MIN).toISOString(),
      lat: 22.8,
      lon: 108.3,
      accuracyM: 12,
      source: 'wifi',
      battery: 64,
      online: true,
      openAlerts: 2,
    });
    for (const user of ['officerB', 'bureauB', 'auditorB'] as const)
      expect((await latest(user)).items.map((i) => i.subjectId)).toEqual([sideB.subjectId]);

    // Paging by subject: one per page, every subject once.
    const second = await seedSubject(s.db, 'A', [active]);
    await setDeviceState(s.db, second, t(-MIN));
    const first = await latest('bureauA', '?limit=1');
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const rest = await latest('bureauA', `?limit=1&cursor=${first.nextCursor}`);
    expect([...first.items, ...rest.items].map((i) => i.subjectId).sort()).toEqual(
      [shown.subjectId, second.subjectId].sort(),
    );
    expect(rest.nextCursor).toBeNull();

    const entries = await s.db
      .selectFrom('audit_log')
      .select(['actor_id', 'detail'])
      .where('action', '=', 'positions.latest')
      .where('actor_id', '=', s.userIds.officerB)
      .execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.detail).toMatchObject({ count: 1 });
  });
});
