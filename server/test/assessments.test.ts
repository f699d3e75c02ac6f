import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertType } from '@ccm/contracts';
import type { DB } from '@ccm/db';
import { startGateway } from '@ccm/device-gateway';
import { DeviceClient, syntheticIdCardNo } from '@ccm/simulators';
import { seedMonitoredDevice, startMosquitto, TOWNSHIP } from '@ccm/test-support';
import {
  DEFAULT_ASSESSMENT_RULES,
  evaluateAssessment,
  monthOf,
  monthRange,
  previousMonth,
  runMonthlyAssessments,
  type AssessmentFacts,
  type AssessmentInput,
} from '../src/assessments';
import { chinaDate } from '../src/assessments/month';
import { A, B, expectMatrix, startTestServer, type TestServer, type TestUser } from './support';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Two calendar months ago (China time): a month that is over, history the tests may write. */
const M2 = previousMonth(previousMonth(monthOf(Date.now())));
const M3 = previousMonth(M2);
const range = monthRange(M2);
/** Day `d` of M2 at `h` o'clock China time. */
const at = (d: number, h = 12) => new Date(range.from.getTime() + (d - 1) * DAY + h * HOUR);

let seq = 0;
async function seedSubject(
  db: Kysely<DB>,
  township: string,
  options: { level?: 'strict' | 'normal' | 'lenient'; officerId?: string } = {},
): Promise<string> {
  seq++;
  const row = await db
    .insertInto('subjects')
    .values({
      name: `考核测试${seq}`,
      id_card_no: syntheticIdCardNo(township.slice(0, 6), '1985-06-07', seq),
      correction_type: 'probation',
      term_start: '2026-01-01',
      term_end: '2030-12-31',
      jurisdiction_code: township,
      management_level: options.level ?? 'strict',
      officer_id: options.officerId ?? null,
      // On the register long before the months assessed here.
      created_at: new Date(Date.now() - 365 * DAY),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Alerts written straight to the table: only ever for months that are over (history). */
async function insertAlert(
  db: Kysely<DB>,
  a: {
    subjectId: string;
    type: AlertType;
    severity?: 'critical' | 'high' | 'medium' | 'low';
    startedAt: Date;
    endedAt?: Date | null;
    status?: 'open' | 'acknowledged' | 'resolved';
    resolution?: string | null;
    township?: string;
  },
) {
  if (a.startedAt.getTime() >= monthRange(monthOf(Date.now())).from.getTime()) {
    throw new Error('tests insert alerts only for months that are over');
  }
  seq++;
  await db
    .insertInto('alerts')
    .values({
      type: a.type,
      severity: a.severity ?? 'high',
      status: a.status ?? 'resolved',
      subject_id: a.subjectId,
      jurisdiction_code: a.township ?? A.township,
      dedupe_key: `${a.subjectId}/${a.type}/${seq}`,
      started_at: a.startedAt,
      ended_at: a.endedAt === undefined ? new Date(a.startedAt.getTime() + HOUR) : a.endedAt,
      raised_at: a.startedAt,
      resolution: a.status === 'open' ? null : (a.resolution ?? 'confirmed_violation'),
      resolved_at: a.status === 'open' ? null : new Date(a.startedAt.getTime() + 2 * HOUR),
    })
    .execute();
}

async function insertCheckins(
  db: Kysely<DB>,
  subjectId: string,
  items: { day: number; status: 'met' | 'missed' | 'cancelled' }[],
) {
  for (const c of items) {
    await db
      .insertInto('checkin_requests')
      .values({
        subject_id: subjectId,
        kind: 'random',
        window_start: at(c.day, 9),
        due_at: at(c.day, 18),
        status: c.status,
        met_at: c.status === 'met' ? at(c.day, 10) : null,
      })
      .execute();
  }
}

const activity = (kind: string, occurredOn: string, hours: number) => ({
  kind,
  occurredOn,
  hours,
  note: '社区公益劳动',
});

describe('monthly assessment (动态考核): the rules as a pure function', () => {
  const base = (over: Partial<AssessmentInput> = {}): AssessmentInput => ({
    month: M2,
    periodStartMs: range.from.getTime(),
    periodEndMs: range.to.getTime(),
    partial: false,
    currentLevel: 'strict',
    alerts: [],
    noSignal: [],
    checkinRequests: [],
    hours: { education: 8, communityService: 8 },
    priorSanctions: { admonition: 0, warning: 0, revocation_request: 0 },
    ...over,
  });
  const rules = DEFAULT_ASSESSMENT_RULES;

  it('a clean month scores the base, and moves one level lighter at most', () => {
    const r = evaluateAssessment(base(), rules);
    expect(r.score).toBe(100);
    expect(r.facts.level).toEqual({ current: 'strict', byScore: 'lenient', recommended: 'normal' });
    expect(r.recommendedSanction).toBe('none');
    expect(r.facts.reasons.map((x) => x.code)).toEqual(
      expect.arrayContaining(['level_step_limit', 'sanction_none', 'checkin_rate']),
    );
  });

  it('out of contact ≤ 10 days → 训诫, > 10 → 警告, > a month → 提请撤销', () => {
    const gap = (days: number) =>
      evaluateAssessment(
        base({
          noSignal: [
            {
              startMs: range.from.getTime() + DAY,
              endMs: range.from.getTime() + DAY + days * DAY,
              resolution: null,
            },
          ],
        }),
        rules,
      );
    expect(gap(0.5).recommendedSanction).toBe('none'); // shorter than a day: not 脱离监管
    expect(gap(3).recommendedSanction).toBe('admonition');
    expect(gap(10).recommendedSanction).toBe('admonition');
    expect(gap(10.5).recommendedSanction).toBe('warning');
    expect(gap(3).recommendedLevel).toBe('strict');
    // An open no_signal since the month before, still open at the month's end: 40 days.
    const long = evaluateAssessment(
      base({
        noSignal: [{ startMs: range.from.getTime() - 10 * DAY, endMs: null, resolution: null }],
      }),
      rules,
    );
    expect(long.recommendedSanction).toBe('revocation_request');
    expect(long.facts.outOfContact.longestDays).toBeGreaterThan(30);
    // Closed as a false alarm: no loss of contact at all.
    const falseAlarm = evaluateAssessment(
      base({
        noSignal: [
          {
            startMs: range.from.getTime(),
            endMs: range.from.getTime() + 12 * DAY,
            resolution: 'false_alarm',
          },
        ],
      }),
      rules,
    );
    expect(falseAlarm.recommendedSanction).toBe('none');
  });

  it('consecutive missed check-ins count as out of contact; prior sanctions climb the ladder', () => {
    const missed = (d: number) => ({
      windowStartMs: at(d, 9).getTime(),
      dueAtMs: at(d, 18).getTime(),
      status: 'missed' as const,
    });
    const r = evaluateAssessment(
      base({ checkinRequests: [missed(2), missed(6), missed(9)] }),
      rules,
    );
    expect(r.facts.checkins).toMatchObject({ missed: 3, met: 0, rate: 0, longestMissedRun: 3 });
    expect(r.facts.outOfContact.missedCheckinRuns).toBe(1);
    expect(r.recommendedSanction).toBe('admonition');
    const twoWarnings = evaluateAssessment(
      base({
        checkinRequests: [missed(2), missed(6)],
        priorSanctions: { admonition: 3, warning: 2, revocation_request: 0 },
      }),
      rules,
    );
    expect(twoWarnings.recommendedSanction).toBe('revocation_request');
    expect(twoWarnings.facts.sanction.grounds).toEqual([
      'out_of_contact_admonition',
      'prior_warnings',
    ]);
    // Prior sanctions alone, with nothing new this month, recommend nothing.
    const quiet = evaluateAssessment(
      base({ priorSanctions: { admonition: 2, warning: 2, revocation_request: 0 } }),
      rules,
    );
    expect(quiet.recommendedSanction).toBe('none');
  });

  it('separations count when confirmed or unresolved, and a province may re-weigh types', () => {
    const alerts: AssessmentInput['alerts'] = [
      {
        type: 'device_separation',
        severity: 'high',
        status: 'resolved',
        resolution: 'confirmed_violation',
        count: 1,
      },
      { type: 'device_separation', severity: 'high', status: 'open', resolution: null, count: 1 },
      {
        type: 'device_separation',
        severity: 'high',
        status: 'resolved',
        resolution: 'device_fault',
        count: 1,
      },
      {
        type: 'zone_exit',
        severity: 'high',
        status: 'resolved',
        resolution: 'false_alarm',
        count: 4,
      },
      { type: 'battery_low', severity: 'low', status: 'resolved', resolution: 'other', count: 2 },
    ];
    const r = evaluateAssessment(base({ alerts }), rules);
    expect(r.facts.separations).toEqual({ count: 2, points: 20 });
    expect(r.facts.violations.excluded).toBe(4);
    expect(r.facts.violations.points).toBe(2); // separations score as separations, not twice
    expect(r.score).toBe(78);
    const heavier = evaluateAssessment(base({ alerts }), {
      ...rules,
      violations: { ...rules.violations, pointsByType: { battery_low: 5 } },
    });
    expect(heavier.score).toBe(70);
  });
});

describe('monthly assessment (动态考核) through the API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  const compute = (user: TestUser, body: object) =>
    s.as(user, { method: 'POST', url: '/api/v1/assessments/compute', payload: body });
  const assessmentOf = async (subjectId: string, month = M2) => {
    const row = await s.db
      .selectFrom('assessments')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .where('month', '=', monthRange(month).firstDay)
      .executeTakeFirstOrThrow();
    return row;
  };
  /** A subject with a recommendation for M2 waiting for a decision. */
  const recommended = async (township: string = A.township) => {
    const subjectId = await seedSubject(s.db, township);
    await runMonthlyAssessments(s.db, { month: M2, nowMs: Date.now(), subjectIds: [subjectId] });
    return { subjectId, id: (await assessmentOf(subjectId)).id };
  };
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
  const writers = {
    admin: 200,
    bureauA: 200,
    policeA: 403,
    auditorA: 403,
    officerA: 200,
    bureauB: 404,
    policeB: 403,
    auditorB: 403,
    officerB: 404,
  } as const;

  describe('access', () => {
    it('activities: officers, bureaus and admins record in scope; auditors read', async () => {
      await expectMatrix({ ...writers, admin: 201, bureauA: 201, officerA: 201 }, async (user) =>
        s.as(user, {
          method: 'POST',
          url: `/api/v1/subjects/${await seedSubject(s.db, A.township)}/activities`,
          payload: activity('education', chinaDate(Date.now() - DAY), 2),
        }),
      );
      const subjectId = await seedSubject(s.db, A.township);
      await expectMatrix(readers, (user) =>
        s.as(user, { url: `/api/v1/subjects/${subjectId}/activities` }),
      );
    });

    it('rules: every reader sees them; only the admin (or a province-level bureau) changes them', async () => {
      await expectMatrix({ ...readers, bureauB: 200, auditorB: 200, officerB: 200 }, (user) =>
        s.as(user, { url: '/api/v1/settings/assessment' }),
      );
      await expectMatrix(
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
        (user) => s.as(user, { method: 'PUT', url: '/api/v1/settings/assessment', payload: {} }),
      );
    });

    it('compute: writers in their scope; a jurisdiction outside it reads as absent', async () => {
      await expectMatrix({ ...writers, bureauB: 200, officerB: 200 }, (user) =>
        compute(user, { month: M2 }),
      );
      await expectMatrix({ ...writers, officerA: 404 }, (user) =>
        compute(user, { month: M2, jurisdiction: A.county }),
      );
    });

    it('reads: lists, one assessment, a subject’s history and sanctions', async () => {
      const { subjectId, id } = await recommended();
      await expectMatrix(readers, (user) => s.as(user, { url: `/api/v1/assessments/${id}` }));
      await expectMatrix(readers, (user) =>
        s.as(user, { url: `/api/v1/subjects/${subjectId}/assessments` }),
      );
      await expectMatrix(readers, (user) =>
        s.as(user, { url: `/api/v1/subjects/${subjectId}/sanctions` }),
      );
      await expectMatrix({ ...readers, officerA: 404 }, (user) =>
        s.as(user, { url: `/api/v1/assessments?month=${M2}&jurisdiction=${A.county}` }),
      );
      // Without a jurisdiction every reader gets their own scope, never the other side's.
      const listB = await s.as('bureauB', { url: `/api/v1/assessments?month=${M2}&limit=500` });
      expect(listB.statusCode).toBe(200);
      expect(listB.json().items.map((a: { id: string }) => a.id)).not.toContain(id);
      expect(
        listB
          .json()
          .items.every((a: { jurisdictionCode: string }) => a.jurisdictionCode === B.township),
      ).toBe(true);
    });

    it('confirm and override: writers in scope', async () => {
      await expectMatrix(writers, async (user) => {
        const { id } = await recommended();
        return s.as(user, {
          method: 'POST',
          url: `/api/v1/assessments/${id}/confirm`,
          payload: {},
        });
      });
      await expectMatrix(writers, async (user) => {
        const { id } = await recommended();
        return s.as(user, {
          method: 'POST',
          url: `/api/v1/assessments/${id}/override`,
          payload: { level: 'strict', sanction: 'none', reason: '新入矫，继续严管观察' },
        });
      });
    });
  });

  describe('activity records', () => {
    it('validates hours and dates, and lists a month', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      const post = (body: object) =>
        s.as('officerA', {
          method: 'POST',
          url: `/api/v1/subjects/${subjectId}/activities`,
          payload: body,
        });
      const today = chinaDate(Date.now());
      expect((await post(activity('education', today, 0))).statusCode).toBe(400);
      expect((await post(activity('education', today, 24.5))).statusCode).toBe(400);
      expect((await post(activity('sport', today, 2))).statusCode).toBe(400);
      const future = await post(activity('education', chinaDate(Date.now() + 2 * DAY), 2));
      expect(future.statusCode).toBe(400);
      expect(future.json().error.message).toContain('today');
      expect((await post(activity('education', '2025-12-31', 2))).statusCode).toBe(400); // before the term
      const ok = await post(activity('community_service', chinaDate(at(3).getTime()), 20));
      expect(ok.statusCode).toBe(201);
      expect(ok.json()).toMatchObject({ kind: 'community_service', hours: 20, subjectId });
      // The same day cannot hold more than 24 hours in all.
      const over = await post(activity('education', chinaDate(at(3).getTime()), 5));
      expect(over.statusCode).toBe(400);
      await post(activity('education', chinaDate(at(4).getTime()), 3));
      const list = await s.as('auditorA', {
        url: `/api/v1/subjects/${subjectId}/activities?month=${M2}`,
      });
      expect(list.json().items.map((a: { hours: number }) => a.hours)).toEqual([3, 20]);
      const audited = await s.db
        .selectFrom('audit_log')
        .select('action')
        .where('action', '=', 'activity.create')
        .where('detail', '@>', JSON.stringify({ subjectId }))
        .execute();
      expect(audited).toHaveLength(2);
    });

    it('a record entered wrongly is voided with a reason: kept, not counted; refused once the month is settled', async () => {
      const subjectId = await seedSubject(s.db, A.township, { officerId: s.userIds.officerA });
      const day = chinaDate(at(6).getTime());
      const post = (body: object) =>
        s.as('officerA', {
          method: 'POST',
          url: `/api/v1/subjects/${subjectId}/activities`,
          payload: body,
        });
      const wrong = (await post(activity('community_service', day, 20))).json();
      const voidIt = (user: Parameters<typeof s.as>[0], id: string, reason: unknown) =>
        s.as(user, { method: 'POST', url: `/api/v1/activities/${id}/void`, payload: { reason } });
      expect((await voidIt('officerA', wrong.id, ' ')).statusCode).toBe(400);
      // Who may void: the writers in scope (each on a record of its own, of another subject).
      const other = await seedSubject(s.db, A.township);
      await expectMatrix(writers, async (user) => {
        const record = await s.as('officerA', {
          method: 'POST',
          url: `/api/v1/subjects/${other}/activities`,
          payload: activity('education', day, 1),
        });
        return voidIt(user, record.json().id, '录入错误 / entered wrongly');
      });
      const voided = await voidIt('officerA', wrong.id, '应为 2 小时，录入错误');
      expect(voided.statusCode).toBe(200);
      expect(voided.json()).toMatchObject({
        id: wrong.id,
        hours: 20,
        voided: { by: s.userIds.officerA, reason: '应为 2 小时，录入错误' },
      });
      expect((await voidIt('officerA', wrong.id, '再次作废')).json().error.code).toBe(
        'ACTIVITY_VOIDED',
      );
      // The day's hours are free again; the right record is entered anew.
      expect((await post(activity('community_service', day, 2))).statusCode).toBe(201);
      expect((await post(activity('education', day, 10))).statusCode).toBe(201);
      const list = await s.as('auditorA', { url: `/api/v1/subjects/${subjectId}/activities` });
      expect(
        list
          .json()
          .items.map((a: { hours: number; voided: object | null }) => [a.hours, a.voided !== null])
          .sort(),
      ).toEqual([
        [10, false],
        [2, false],
        [20, true],
      ]);
      // Not counted in the month's assessment.
      expect((await compute('officerA', { month: M2 })).statusCode).toBe(200);
      const [assessment] = (
        await s.as('officerA', { url: `/api/v1/subjects/${subjectId}/assessments` })
      ).json().items;
      expect(assessment.facts.hours).toMatchObject({ education: 10, communityService: 2 });
      const audited = await s.db
        .selectFrom('audit_log')
        .select('detail')
        .where('action', '=', 'activity.void')
        .where('resource_id', '=', wrong.id)
        .execute();
      expect(audited).toEqual([
        {
          detail: expect.objectContaining({
            subjectId,
            hours: 20,
            reason: '应为 2 小时，录入错误',
          }),
        },
      ]);
      // Once the month is confirmed its facts are settled.
      const confirmed = await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/assessments/${assessment.id}/confirm`,
        payload: {},
      });
      expect(confirmed.statusCode).toBe(200);
      const education = list.json().items.find((a: { hours: number }) => a.hours === 10);
      const late = await voidIt('officerA', education.id, '录入错误');
      expect(late.statusCode).toBe(409);
      expect(late.json().error.code).toBe('ASSESSMENT_SETTLED');
    });
  });

  describe('a month of facts', () => {
    it('a clean subject with its hours is recommended one level lighter; confirming applies it', async () => {
      const subjectId = await seedSubject(s.db, A.township, { officerId: s.userIds.officerA });
      for (const body of [
        activity('education', chinaDate(at(5).getTime()), 8),
        activity('community_service', chinaDate(at(12).getTime()), 8),
      ]) {
        const res = await s.as('officerA', {
          method: 'POST',
          url: `/api/v1/subjects/${subjectId}/activities`,
          payload: body,
        });
        expect(res.statusCode).toBe(201);
      }
      await insertCheckins(s.db, subjectId, [
        { day: 3, status: 'met' },
        { day: 17, status: 'met' },
      ]);
      // An alert of the month before does not count in this one.
      await insertAlert(s.db, { subjectId, type: 'zone_exit', startedAt: monthRange(M3).from });
      const res = await compute('officerA', { month: M2 });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ month: M2, partial: false });
      const history = await s.as('officerA', { url: `/api/v1/subjects/${subjectId}/assessments` });
      const [a] = history.json().items;
      expect(a).toMatchObject({
        month: M2,
        score: 100,
        recommendedLevel: 'normal',
        recommendedSanction: 'none',
        status: 'recommended',
        currentLevel: 'strict',
      });
      expect(a.facts).toMatchObject({
        violations: { counted: 0 },
        checkins: { met: 2, missed: 0, rate: 1 },
        hours: { education: 8, communityService: 8, missing: 0 },
        level: { current: 'strict', byScore: 'lenient', recommended: 'normal' },
      });
      const stepLimit = a.facts.reasons.find(
        (r: { code: string }) => r.code === 'level_step_limit',
      );
      expect(stepLimit.zh).toContain('由严管调整为普管');
      expect(stepLimit.en).toContain('from strict to normal');
      // The officer was told.
      const note = await s.db
        .selectFrom('notifications')
        .select(['user_id', 'kind'])
        .where('ref_id', '=', a.id)
        .executeTakeFirstOrThrow();
      expect(note).toEqual({ user_id: s.userIds.officerA, kind: 'assessment_ready' });

      const confirmed = await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/assessments/${a.id}/confirm`,
        payload: { note: '表现良好' },
      });
      expect(confirmed.statusCode).toBe(200);
      expect(confirmed.json()).toMatchObject({
        status: 'confirmed',
        finalLevel: 'normal',
        finalSanction: 'none',
        decidedBy: s.userIds.officerA,
        decisionReason: '表现良好',
        currentLevel: 'normal',
      });
      expect(confirmed.json().events.map((e: { action: string }) => e.action)).toEqual([
        'computed',
        'confirmed',
      ]);
      const subject = await s.db
        .selectFrom('subjects')
        .select('management_level')
        .where('id', '=', subjectId)
        .executeTakeFirstOrThrow();
      expect(subject.management_level).toBe('normal');
      const sanctions = await s.as('officerA', { url: `/api/v1/subjects/${subjectId}/sanctions` });
      expect(sanctions.json().items).toEqual([]);
      const audited = await s.db
        .selectFrom('audit_log')
        .select(['action', 'actor_username', 'detail'])
        .where('resource_id', '=', a.id)
        .execute();
      expect(audited).toEqual([
        {
          action: 'assessment.confirm',
          actor_username: 'officerA',
          detail: expect.objectContaining({ finalLevel: 'normal', previousLevel: 'strict' }),
        },
      ]);
      // Decided once: a second decision is refused.
      const again = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${a.id}/override`,
        payload: { level: 'strict', sanction: 'none', reason: '复核' },
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe('ASSESSMENT_DECIDED');
    });

    it('out of contact for more than 10 days (no_signal alerts) recommends 警告 with the facts', async () => {
      const subjectId = await seedSubject(s.db, A.township, { level: 'normal' });
      await insertAlert(s.db, {
        subjectId,
        type: 'no_signal',
        startedAt: at(3, 8),
        endedAt: at(15, 20), // 12.5 days
      });
      // Closed as a false alarm: listed, not counted.
      await insertAlert(s.db, {
        subjectId,
        type: 'zone_exit',
        startedAt: at(20),
        resolution: 'false_alarm',
      });
      await insertCheckins(s.db, subjectId, [
        { day: 2, status: 'met' },
        { day: 9, status: 'missed' },
        { day: 23, status: 'met' },
        { day: 25, status: 'cancelled' },
      ]);
      expect((await compute('bureauA', { month: M2 })).statusCode).toBe(200);
      const a = await assessmentOf(subjectId);
      expect(a.recommended_sanction).toBe('warning');
      expect(a.recommended_level).toBe('strict');
      const facts = a.facts as AssessmentFacts;
      expect(facts.outOfContact).toMatchObject({ longestDays: 12.5, noSignalAlerts: 1 });
      expect(facts.violations).toMatchObject({ counted: 1, excluded: 1, points: 5 });
      expect(facts.checkins).toMatchObject({
        met: 2,
        missed: 1,
        cancelled: 1,
        rate: 0.6667,
        points: 10,
      });
      expect(facts.sanction.grounds).toEqual(['out_of_contact_warning']);
      const ground = facts.reasons.find((r) => r.code === 'out_of_contact_warning')!;
      expect(ground.zh).toContain('脱离监管 12.5 天');
      expect(ground.zh).toContain('建议警告');
      expect(ground.en).toContain('out of contact 12.5 days');
      // 100 − 5 (no_signal, high) − 10 (2 of 3 check-ins) − 16 (no hours recorded)
      expect(a.score).toBe(69);
    });

    it('two prior 训诫 and a new ground recommend 警告; the officer must leave it to the bureau', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      for (const when of [monthRange(M3).from, new Date(monthRange(M3).from.getTime() + 5 * DAY)]) {
        await s.db
          .insertInto('sanctions')
          .values({
            subject_id: subjectId,
            kind: 'admonition',
            decided_at: when,
            reason: '未按时报告',
          })
          .execute();
      }
      for (const d of [4, 11, 18]) {
        await insertAlert(s.db, { subjectId, type: 'zone_exit', startedAt: at(d) });
      }
      await compute('officerA', { month: M2 });
      const { id, recommended_sanction, facts } = await assessmentOf(subjectId);
      expect(recommended_sanction).toBe('warning');
      expect((facts as { sanction: { grounds: string[] } }).sanction.grounds).toEqual([
        'serious_violations',
        'prior_admonitions',
      ]);
      expect(facts).toMatchObject({
        seriousViolations: 3,
        priorSanctions: { admonition: 2, warning: 0 },
      });

      // 警告 is the county bureau's decision.
      const byOfficer = await s.as('officerA', {
        method: 'POST',
        url: `/api/v1/assessments/${id}/confirm`,
      });
      expect(byOfficer.statusCode).toBe(403);
      expect(byOfficer.json().error.code).toBe('SANCTION_NEEDS_BUREAU');
      // Overriding needs a reason.
      const noReason = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${id}/override`,
        payload: { level: 'strict', sanction: 'admonition' },
      });
      expect(noReason.statusCode).toBe(400);
      const blankReason = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${id}/override`,
        payload: { level: 'strict', sanction: 'admonition', reason: '   ' },
      });
      expect(blankReason.statusCode).toBe(400);
      const reason = '越界系就医，已补交证明；从轻给予训诫';
      const overridden = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${id}/override`,
        payload: { level: 'strict', sanction: 'admonition', reason },
      });
      expect(overridden.statusCode).toBe(200);
      expect(overridden.json()).toMatchObject({
        status: 'overridden',
        recommendedSanction: 'warning',
        finalSanction: 'admonition',
        finalLevel: 'strict',
        decisionReason: reason,
      });
      const sanctions = (
        await s.as('auditorA', { url: `/api/v1/subjects/${subjectId}/sanctions` })
      ).json().items;
      expect(sanctions).toHaveLength(3);
      expect(sanctions[0]).toMatchObject({
        kind: 'admonition',
        assessmentId: id,
        assessmentMonth: M2,
        reason,
        decidedBy: s.userIds.bureauA,
      });
      const history = (
        await s.as('auditorA', { url: `/api/v1/subjects/${subjectId}/assessments` })
      ).json().items;
      expect(
        history[0].events.map((e: { action: string; actorName: string | null }) => [
          e.action,
          e.actorName,
        ]),
      ).toEqual([
        ['computed', null],
        ['overridden', 'bureauA'],
      ]);
      expect(history[0].events[1].data).toMatchObject({ reason, finalSanction: 'admonition' });
      const audited = await s.db
        .selectFrom('audit_log')
        .select('action')
        .where('resource_id', '=', id)
        .execute();
      expect(audited.map((x) => x.action)).toEqual(['assessment.override']);
    });

    it('a confirmed 警告 is recorded as a sanction with the grounds as its reason', async () => {
      const subjectId = await seedSubject(s.db, A.township, { level: 'lenient' });
      await insertAlert(s.db, {
        subjectId,
        type: 'no_signal',
        startedAt: at(1, 1),
        endedAt: at(14, 1),
      });
      await runMonthlyAssessments(s.db, { month: M2, nowMs: Date.now(), subjectIds: [subjectId] });
      const { id } = await assessmentOf(subjectId);
      const res = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${id}/confirm`,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        finalSanction: 'warning',
        finalLevel: 'strict',
        currentLevel: 'strict',
      });
      const [sanction] = (
        await s.as('bureauA', { url: `/api/v1/subjects/${subjectId}/sanctions` })
      ).json().items;
      expect(sanction).toMatchObject({ kind: 'warning', assessmentId: id });
      expect(sanction.reason).toContain('脱离监管 13 天');
      expect(sanction.reason).toContain('out of contact 13 days');
    });
  });

  describe('recomputing', () => {
    it('is idempotent, brings recommendations up to date, and never touches decided ones', async () => {
      const open = await seedSubject(s.db, A.township);
      const decided = await seedSubject(s.db, A.township);
      const subjectIds = [open, decided];
      const run = () => runMonthlyAssessments(s.db, { month: M2, nowMs: Date.now(), subjectIds });
      expect(await run()).toMatchObject({ subjects: 2, computed: 2, recomputed: 0, unchanged: 0 });
      expect(await run()).toMatchObject({ computed: 0, recomputed: 0, unchanged: 2, decided: 0 });
      const decidedRow = await assessmentOf(decided);
      await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${decidedRow.id}/override`,
        payload: { level: 'normal', sanction: 'none', reason: '入矫满三月，表现稳定' },
      });
      for (const subjectId of subjectIds) {
        await insertAlert(s.db, { subjectId, type: 'curfew', startedAt: at(7, 23) });
      }
      expect(await run()).toMatchObject({ computed: 0, recomputed: 1, unchanged: 0, decided: 1 });
      expect(await run()).toMatchObject({ recomputed: 0, unchanged: 1, decided: 1 });

      const openRow = await assessmentOf(open);
      expect(openRow.score).toBe(79); // 100 − 5 (curfew) − 16 (no hours)
      const events = await s.db
        .selectFrom('assessment_events')
        .select(['action', 'data'])
        .where('assessment_id', '=', openRow.id)
        .orderBy('id')
        .execute();
      expect(events.map((e) => e.action)).toEqual(['computed', 'recomputed']);
      expect(events[1]!.data).toMatchObject({ score: 79, previous: { score: 84 } });
      const after = await assessmentOf(decided);
      expect(after).toMatchObject({
        status: 'overridden',
        score: decidedRow.score,
        final_level: 'normal',
      });
      const rows = await s.db
        .selectFrom('assessments')
        .select('id')
        .where('subject_id', 'in', subjectIds)
        .execute();
      expect(rows).toHaveLength(2);
    });

    it('refuses a month that has not begun, and an earlier month once a later one is decided', async () => {
      const future = monthOf(Date.now() + 40 * DAY);
      const res = await compute('bureauA', { month: future });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('MONTH_IN_FUTURE');

      const subjectId = await seedSubject(s.db, A.township);
      await runMonthlyAssessments(s.db, { month: M3, nowMs: Date.now(), subjectIds: [subjectId] });
      await runMonthlyAssessments(s.db, { month: M2, nowMs: Date.now(), subjectIds: [subjectId] });
      const later = await assessmentOf(subjectId, M2);
      const earlier = await assessmentOf(subjectId, M3);
      await s.as('bureauA', { method: 'POST', url: `/api/v1/assessments/${later.id}/confirm` });
      const stale = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${earlier.id}/confirm`,
      });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().error.code).toBe('ASSESSMENT_SUPERSEDED');
    });

    it('the worker’s default month is the one before', async () => {
      const subjectId = await seedSubject(s.db, A.township);
      const summary = await runMonthlyAssessments(s.db, {
        nowMs: at(2).getTime() + 31 * DAY,
        subjectIds: [subjectId],
      });
      expect(summary).toMatchObject({ month: M2, partial: false, computed: 1 });
    });
  });

  describe('rules', () => {
    it('a stored override changes thresholds; invalid rules are refused; {} restores the defaults', async () => {
      const updates = () =>
        s.db
          .selectFrom('audit_log')
          .select('id')
          .where('action', '=', 'settings.assessment.update')
          .execute();
      const before = (await updates()).length;
      const bad = await s.as('admin', {
        method: 'PUT',
        url: '/api/v1/settings/assessment',
        payload: { levels: { strictBelow: 95, lenientAtLeast: 90 } },
      });
      expect(bad.statusCode).toBe(400);
      const put = await s.as('admin', {
        method: 'PUT',
        url: '/api/v1/settings/assessment',
        payload: { hours: { educationRequired: 0, communityServiceRequired: 0 } },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toMatchObject({
        customised: true,
        updatedBy: s.userIds.admin,
        rules: {
          hours: { educationRequired: 0, pointsPerMissingHour: 1 },
          levels: { lenientAtLeast: 90 },
        },
        defaults: { hours: { educationRequired: 8 } },
      });
      const subjectId = await seedSubject(s.db, A.township, { level: 'normal' });
      await runMonthlyAssessments(s.db, { month: M2, nowMs: Date.now(), subjectIds: [subjectId] });
      const a = await assessmentOf(subjectId);
      expect(a).toMatchObject({ score: 100, recommended_level: 'lenient' });
      expect(
        (a.facts as { rules: { hours: { educationRequired: number } } }).rules.hours
          .educationRequired,
      ).toBe(0);
      const reset = await s.as('admin', {
        method: 'PUT',
        url: '/api/v1/settings/assessment',
        payload: {},
      });
      expect(reset.json().rules).toEqual(reset.json().defaults);
      expect(await updates()).toHaveLength(before + 2);
    });
  });
});

describe('an assessment violation raised through the real broker and gateway', () => {
  const HOME: [number, number] = [108.366543, 22.817012];
  const north = (m: number) => HOME[1] + m / 111_320;

  it('a zone_enter published by a wristband counts in this month’s (partial) assessment', async () => {
    const s = await startTestServer();
    const broker = await startMosquitto();
    const gateway = await startGateway({
      database: s.t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
    });
    let device: DeviceClient | undefined;
    try {
      await gateway.ready;
      const seeded = await seedMonitoredDevice(s.db, { deviceId: 'wb-assess-1' });
      const zone = await s.db
        .insertInto('zones')
        .values({
          name: '禁止进入的网吧 / internet café in the prohibition order',
          kind: 'exclusion',
          purpose: 'prohibited',
          geometry: JSON.stringify({ type: 'Circle', center: HOME, radiusM: 100 }),
          min_lon: HOME[0] - 0.01,
          min_lat: HOME[1] - 0.01,
          max_lon: HOME[0] + 0.01,
          max_lat: HOME[1] + 0.01,
          buffer_m: 10,
          jurisdiction_code: TOWNSHIP,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await s.db
        .insertInto('zone_assignments')
        .values({ subject_id: seeded.subjectId, zone_id: zone.id })
        .execute();
      await new Promise((r) => setTimeout(r, 1000)); // NOTIFY ccm_config → the gateway reloads

      device = new DeviceClient({ url: broker.url, deviceId: 'wb-assess-1' });
      await device.connect();
      const start = Date.now() - 9 * 10_000;
      let last = 0;
      for (const [i, m] of [500, 400, 300, 200, 0, 0, 0, 0, 0].entries()) {
        last = device.sendFixes([
          { t: start + i * 10_000, lat: north(m), lon: HOME[0], acc: 5, src: 'gnss' },
        ]);
      }
      await device.waitAcked(last);
      const alert = await s.db
        .selectFrom('alerts')
        .select(['type', 'severity', 'started_at'])
        .where('subject_id', '=', seeded.subjectId)
        .executeTakeFirstOrThrow();
      expect(alert).toMatchObject({ type: 'zone_enter', severity: 'high' });

      const month = monthOf(alert.started_at.getTime());
      const res = await s.as('bureauA', {
        method: 'POST',
        url: '/api/v1/assessments/compute',
        payload: { month },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ month, partial: true });
      const [a] = (
        await s.as('officerA', { url: `/api/v1/subjects/${seeded.subjectId}/assessments` })
      ).json().items;
      expect(a.facts.period.partial).toBe(true);
      expect(a.facts.violations).toMatchObject({
        counted: 1,
        points: 5,
        byType: [{ type: 'zone_enter', severity: 'high', count: 1, pointsEach: 5, points: 5 }],
      });
      const reason = a.facts.reasons.find((r: { code: string }) => r.code === 'violations');
      expect(reason.zh).toContain('进入禁止区域 1 起');
      // The month is not over: the recommendation waits.
      const early = await s.as('bureauA', {
        method: 'POST',
        url: `/api/v1/assessments/${a.id}/confirm`,
      });
      expect(early.statusCode).toBe(409);
      expect(early.json().error.code).toBe('MONTH_NOT_OVER');
    } finally {
      await device?.close();
      await gateway.close();
      await broker.stop();
      await s.close();
    }
  });
});
