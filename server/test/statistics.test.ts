import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { daysBetween } from '../src/statistics/service';
import { A, B, expectMatrix, startTestServer, type TestServer } from './support';

const MIN = 60_000;
let seq = 0;

async function seedSubject(
  db: Kysely<DB>,
  side: 'A' | 'B',
  level: 'strict' | 'normal' | 'lenient',
) {
  seq++;
  const office = side === 'A' ? A : B;
  const subject = await db
    .insertInto('subjects')
    .values({
      name: `统计对象${side}${seq}`,
      id_card_no: syntheticIdCardNo(office.county, '1990-01-01', seq),
      correction_type: 'probation',
      term_start: '2026-01-01',
      term_end: '2027-12-31',
      jurisdiction_code: office.township,
      management_level: level,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
  const deviceId = `stat-dev-${side}-${seq}`;
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
  return {
    subjectId: subject.id,
    subjectNo: subject.no,
    deviceId,
    deviceNo: device.no,
    office,
  };
}

type Seeded = Awaited<ReturnType<typeof seedSubject>>;

async function seedAlert(
  db: Kysely<DB>,
  s: Seeded,
  o: {
    type: string;
    severity: 'critical' | 'high' | 'medium' | 'low';
    raisedAt: Date;
    ackAfterS?: number;
    resolution?: 'confirmed_violation' | 'false_alarm' | 'device_fault';
  },
) {
  seq++;
  await db
    .insertInto('alerts')
    .values({
      type: o.type,
      severity: o.severity,
      status: o.resolution ? 'resolved' : o.ackAfterS !== undefined ? 'acknowledged' : 'open',
      subject_id: s.subjectId,
      device_id: s.deviceId,
      jurisdiction_code: s.office.township,
      dedupe_key: `${s.subjectId}/${o.type}/${seq}`,
      started_at: o.raisedAt,
      ended_at: null,
      raised_at: o.raisedAt,
      lat: 22.817,
      lon: 108.366,
      evidence: JSON.stringify({ kind: 'test' }),
      acknowledged_at:
        o.ackAfterS !== undefined ? new Date(o.raisedAt.getTime() + o.ackAfterS * 1000) : null,
      resolved_at: o.resolution ? new Date(o.raisedAt.getTime() + 3600_000) : null,
      resolution: o.resolution ?? null,
    })
    .execute();
}

describe('statistics (决策分析)', () => {
  let s: TestServer;
  let a1: Seeded;
  // A fixed window: 2026-11-01 00:00 to 2026-11-04 00:00 China time.
  const from = new Date('2026-10-31T16:00:00Z');
  const to = new Date('2026-11-03T16:00:00Z');
  const q = `from=${from.toISOString()}&to=${to.toISOString()}`;

  beforeAll(async () => {
    s = await startTestServer();
    a1 = await seedSubject(s.db, 'A', 'strict');
    const a2 = await seedSubject(s.db, 'A', 'normal');
    const b1 = await seedSubject(s.db, 'B', 'lenient');
    // 2026-11-01 China time (01:00 local = 17:00 UTC the day before).
    const day1 = new Date('2026-10-31T17:00:00Z');
    const day3 = new Date('2026-11-03T01:00:00Z');
    await seedAlert(s.db, a1, {
      type: 'zone_exit',
      severity: 'high',
      raisedAt: day1,
      ackAfterS: 60,
    });
    await seedAlert(s.db, a1, {
      type: 'zone_exit',
      severity: 'high',
      raisedAt: new Date(day1.getTime() + 30 * MIN),
      ackAfterS: 180,
      resolution: 'false_alarm',
    });
    await seedAlert(s.db, a2, {
      type: 'strap_tamper',
      severity: 'critical',
      raisedAt: day3,
      ackAfterS: 300,
      resolution: 'confirmed_violation',
    });
    await seedAlert(s.db, a2, { type: 'battery_low', severity: 'low', raisedAt: day3 });
    await seedAlert(s.db, b1, { type: 'zone_enter', severity: 'high', raisedAt: day3 });
    // Outside the window: counted by no figure.
    await seedAlert(s.db, a1, {
      type: 'zone_exit',
      severity: 'high',
      raisedAt: new Date(to.getTime() + MIN),
    });
  });
  afterAll(async () => s?.close());

  it('police may not read statistics; every other role reads its own scope', async () => {
    await expectMatrix(
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
      (user) => s.as(user, { url: `/api/v1/statistics/alerts?${q}` }),
    );
    expect((await s.app.inject({ url: `/api/v1/statistics/alerts?${q}` })).statusCode).toBe(401);
  });

  it('counts alerts by type, day and jurisdiction, the false-alarm share and time to acknowledge', async () => {
    const res = await s.as('bureauA', { url: `/api/v1/statistics/alerts?${q}` });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.total).toBe(4);
    expect(body.byType).toEqual([
      { type: 'zone_exit', severity: 'high', count: 2 },
      { type: 'battery_low', severity: 'low', count: 1 },
      { type: 'strap_tamper', severity: 'critical', count: 1 },
    ]);
    // Days are China days: 01:00 local on 1 November is still 31 October in UTC.
    expect(body.byDay).toEqual([
      { day: '2026-11-01', count: 2 },
      { day: '2026-11-02', count: 0 },
      { day: '2026-11-03', count: 2 },
    ]);
    // A county bureau sees its offices.
    expect(body.byJurisdiction).toEqual([
      { code: A.township, nameZh: expect.any(String), nameEn: expect.any(String), count: 4 },
    ]);
    expect(body.resolved).toBe(2);
    expect(body.falseAlarms).toBe(1);
    expect(body.falseAlarmShare).toBe(0.5);
    expect(body.timeToAcknowledge).toMatchObject({
      count: 3,
      meanS: 180,
      medianS: 180,
      openUnacknowledged: 1,
    });
    expect(body.timeToAcknowledge.bySeverity.map((x: { severity: string }) => x.severity)).toEqual([
      'critical',
      'high',
    ]);
    expect(body.subjectsByLevel).toEqual([
      { level: 'strict', count: 1 },
      { level: 'normal', count: 1 },
      { level: 'lenient', count: 0 },
    ]);
  });

  it('the root sees both sides grouped by the child of its node; other sides see only theirs', async () => {
    const admin = (await s.as('admin', { url: `/api/v1/statistics/alerts?${q}` })).json();
    expect(admin.total).toBe(5);
    expect(admin.byJurisdiction).toEqual([
      { code: '450100', nameZh: expect.any(String), nameEn: expect.any(String), count: 5 },
    ]);
    const b = (await s.as('officerB', { url: `/api/v1/statistics/alerts?${q}` })).json();
    expect(b.total).toBe(1);
    expect(b.byType).toEqual([{ type: 'zone_enter', severity: 'high', count: 1 }]);
    expect(b.byJurisdiction).toEqual([
      { code: B.township, nameZh: expect.any(String), nameEn: expect.any(String), count: 1 },
    ]);
    expect(b.falseAlarmShare).toBeNull();
    expect(b.subjectsByLevel.find((l: { level: string }) => l.level === 'lenient').count).toBe(1);
  });

  it('refuses a window that is empty, reversed, too long or in an unknown zone', async () => {
    for (const bad of [
      `from=${to.toISOString()}&to=${from.toISOString()}`,
      'from=2025-01-01T00:00:00Z&to=2026-06-01T00:00:00Z',
      `${q}&timeZone=Mars/Olympus`,
      'from=yesterday',
    ]) {
      const res = await s.as('bureauA', { url: `/api/v1/statistics/alerts?${bad}` });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('lists a subject’s check-ins in scope, counted by result; 404 outside scope', async () => {
    const terminal = await s.db
      .insertInto('devices')
      .values({
        id: 'stat-term-1',
        kind: 'terminal',
        secret_hash: hashDeviceSecret('not-used-in-these-tests'),
        jurisdiction_code: A.township,
      })
      .returning('no')
      .executeTakeFirstOrThrow();
    const t0 = new Date(Date.now() - 2 * 86_400_000);
    const rows = [
      { method: 'fingerprint', result: 'match', score: 0.97 },
      { method: 'face', result: 'spoof_suspected', score: 0.41 },
      { method: 'fingerprint', result: 'no_match', score: 0.2 },
    ] as const;
    for (const [i, r] of rows.entries()) {
      await s.db
        .insertInto('checkins')
        .values({
          device_no: terminal.no,
          t: new Date(t0.getTime() + i * MIN),
          subject_ref: a1.subjectId,
          subject_no: a1.subjectNo,
          seq: i + 1,
          method: r.method,
          result: r.result,
          score: r.score,
          liveness: r.method === 'face' ? false : null,
          lat_e6: null,
          lon_e6: null,
          received_at: new Date(),
        })
        .execute();
    }
    // The subject page: the one check-ins route for the list, checkin-stats for the counts.
    const stats = await s.as('officerA', { url: `/api/v1/subjects/${a1.subjectId}/checkin-stats` });
    expect(stats.statusCode).toBe(200);
    expect(stats.json().checkins).toEqual({
      total: 3,
      match: 1,
      noMatch: 1,
      spoofSuspected: 1,
      separations: 0,
    });
    const url = `/api/v1/subjects/${a1.subjectId}/checkins?limit=2`;
    const res = await s.as('officerA', { url });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.items.map((c: { result: string }) => c.result)).toEqual([
      'no_match',
      'spoof_suspected',
    ]);
    expect(body.items[0]).toMatchObject({ method: 'fingerprint', deviceId: 'stat-term-1' });
    expect((await s.as('officerB', { url })).statusCode).toBe(404);
    expect((await s.as('policeA', { url })).statusCode).toBe(403);
  });

  it('lists every calendar day of a window in its time zone', () => {
    expect(
      daysBetween({
        from: new Date('2026-02-27T16:00:00Z'),
        to: new Date('2026-03-02T16:00:00Z'),
        timeZone: 'Asia/Shanghai',
      }),
    ).toEqual(['2026-02-28', '2026-03-01', '2026-03-02']);
  });
});
