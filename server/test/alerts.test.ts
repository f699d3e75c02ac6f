import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { waitFor } from '@ccm/test-support';
import { escalateOverdueAlerts } from '../src/alerts/service';
import { A, B, USERS, startTestServer, type TestServer, type TestUser } from './support';

const MIN = 60_000;
let seq = 0;

/** A subject with a device on one side's township office (no order: alerts need none). */
async function seedSubject(db: Kysely<DB>, side: 'A' | 'B') {
  seq++;
  const office = side === 'A' ? A : B;
  const subject = await db
    .insertInto('subjects')
    .values({
      name: `告警对象${side}${seq}`,
      id_card_no: syntheticIdCardNo(office.county, '1988-08-08', seq),
      correction_type: 'parole',
      term_start: '2026-01-01',
      term_end: '2027-12-31',
      jurisdiction_code: office.township,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
  const deviceId = `alert-dev-${side}-${seq}`;
  await db
    .insertInto('devices')
    .values({
      id: deviceId,
      kind: 'wristband',
      secret_hash: hashDeviceSecret('not-used-in-these-tests'),
      jurisdiction_code: office.township,
    })
    .execute();
  return { subjectId: subject.id, deviceId, jurisdictionCode: office.township };
}

/** An alert as the gateway's rules engine writes it: the row and its 'raised' event. */
async function seedAlert(
  db: Kysely<DB>,
  s: { subjectId: string; deviceId: string; jurisdictionCode: string },
  o: {
    type?: string;
    severity?: 'critical' | 'high' | 'medium' | 'low';
    status?: 'open' | 'acknowledged' | 'resolved';
    raisedAt?: Date | string;
    late?: boolean;
  } = {},
) {
  seq++;
  const raisedAt = o.raisedAt ?? new Date();
  const row = await db
    .insertInto('alerts')
    .values({
      type: o.type ?? 'zone_exit',
      severity: o.severity ?? 'high',
      status: o.status ?? 'open',
      subject_id: s.subjectId,
      device_id: s.deviceId,
      jurisdiction_code: s.jurisdictionCode,
      dedupe_key: `${s.subjectId}/${o.type ?? 'zone_exit'}/${seq}`,
      started_at: raisedAt,
      ended_at: null,
      raised_at: raisedAt,
      late: o.late ?? false,
      late_by_ms: o.late ? 90_000 : 0,
      lat: 22.817,
      lon: 108.366,
      evidence: JSON.stringify({ kind: 'test' }),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('alert_events')
    .values({ alert_id: row.id, action: 'raised', actor_id: null, data: '{}', at: raisedAt })
    .execute();
  return row.id;
}

const ALL_USERS = Object.keys(USERS) as TestUser[];

describe('alerts: access and workflow', () => {
  let s: TestServer;
  let subjectA: Awaited<ReturnType<typeof seedSubject>>;
  let subjectB: Awaited<ReturnType<typeof seedSubject>>;

  beforeAll(async () => {
    s = await startTestServer();
    subjectA = await seedSubject(s.db, 'A');
    subjectB = await seedSubject(s.db, 'B');
  });
  afterAll(async () => s?.close());

  it('reads: every role on a side-A alert gets exactly the expected status', async () => {
    const id = await seedAlert(s.db, subjectA);
    const expected: Record<TestUser, number> = {
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
    for (const user of ALL_USERS) {
      const res = await s.as(user, { url: `/api/v1/alerts/${id}` });
      expect(res.statusCode, user).toBe(expected[user]);
      if (res.statusCode === 404) expect(res.json().error.code).toBe('ALERT_NOT_FOUND');
    }
    // Out of scope answers like a nonexistent id.
    const missing = await s.as('officerB', {
      url: '/api/v1/alerts/00000000-0000-4000-8000-000000000000',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual(
      (await s.as('officerB', { url: `/api/v1/alerts/${id}` })).json(),
    );
    expect((await s.app.inject({ url: `/api/v1/alerts/${id}` })).statusCode).toBe(401);
  });

  it('lists: side-B users see nothing of side A, police may not list', async () => {
    const idA = await seedAlert(s.db, subjectA);
    const idB = await seedAlert(s.db, subjectB);
    const listed = async (user: TestUser) => {
      const res = await s.as(user, { url: '/api/v1/alerts?limit=500' });
      expect(res.statusCode, user).toBe(200);
      return (res.json().items as { id: string; jurisdictionCode: string }[]).map((a) => a.id);
    };
    for (const user of ['officerB', 'bureauB', 'auditorB'] as const) {
      const ids = await listed(user);
      expect(ids, user).toContain(idB);
      expect(ids, user).not.toContain(idA);
    }
    for (const user of ['officerA', 'bureauA', 'auditorA'] as const) {
      const ids = await listed(user);
      expect(ids, user).toContain(idA);
      expect(ids, user).not.toContain(idB);
    }
    expect(await listed('admin')).toEqual(expect.arrayContaining([idA, idB]));
    for (const user of ['policeA', 'policeB'] as const)
      expect((await s.as(user, { url: '/api/v1/alerts' })).statusCode).toBe(403);
  });

  it('writes: bureau, officer and admin in scope; auditor and police 403; side B 404 and nothing changes', async () => {
    const id = await seedAlert(s.db, subjectA);
    const expected: Record<TestUser, number> = {
      admin: 201,
      bureauA: 201,
      policeA: 403,
      auditorA: 403,
      officerA: 201,
      bureauB: 404,
      policeB: 403,
      auditorB: 403,
      officerB: 404,
    };
    for (const user of ALL_USERS) {
      const res = await s.as(user, {
        method: 'POST',
        url: `/api/v1/alerts/${id}/notes`,
        payload: { text: `note by ${user}` },
      });
      expect(res.statusCode, user).toBe(expected[user]);
    }
    for (const user of ['officerB', 'bureauB'] as const) {
      for (const [action, payload] of [
        ['acknowledge', undefined],
        ['assign', { userId: s.userIds.officerB }],
        ['resolve', { note: 'x', resolution: 'false_alarm' }],
      ] as const) {
        const res = await s.as(user, {
          method: 'POST',
          url: `/api/v1/alerts/${id}/${action}`,
          ...(payload ? { payload } : {}),
        });
        expect(res.statusCode, `${user} ${action}`).toBe(404);
      }
    }
    const row = await s.db
      .selectFrom('alerts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('open');
    expect(row.assigned_to).toBeNull();
    const notes = await s.db
      .selectFrom('alert_events')
      .select(['actor_id', 'note'])
      .where('alert_id', '=', id)
      .where('action', '=', 'note')
      .orderBy('id')
      .execute();
    expect(notes.map((n) => n.actor_id)).toEqual([
      s.userIds.admin,
      s.userIds.bureauA,
      s.userIds.officerA,
    ]);
  });

  it('works an alert end to end: acknowledge → assign → note → resolve, with history, outbox, notify and audit', async () => {
    const id = await seedAlert(s.db, subjectA, { type: 'strap_tamper', severity: 'critical' });
    const notified: (string | null)[] = [];
    const unlisten = await s.t.database.listen('ccm_outbox', (p) => notified.push(p));
    const post = (user: TestUser, action: string, payload?: object) =>
      s.as(user, {
        method: 'POST',
        url: `/api/v1/alerts/${id}/${action}`,
        ...(payload ? { payload } : {}),
      });
    try {
      const ack = await post('officerA', 'acknowledge');
      expect(ack.statusCode).toBe(200);
      expect(ack.json()).toMatchObject({
        id,
        status: 'acknowledged',
        acknowledgedBy: s.userIds.officerA,
      });
      expect((await post('officerA', 'acknowledge')).statusCode).toBe(409);

      const assign = await post('bureauA', 'assign', { userId: s.userIds.officerA });
      expect(assign.statusCode).toBe(200);
      expect(assign.json().assignedTo).toBe(s.userIds.officerA);
      // The assignee must be an officer/bureau user whose jurisdiction covers the alert.
      for (const userId of [
        s.userIds.officerB,
        s.userIds.bureauB,
        s.userIds.policeA,
        s.userIds.auditorA,
        s.userIds.admin,
        '00000000-0000-4000-8000-000000000000',
      ]) {
        const bad = await post('bureauA', 'assign', { userId });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error.code).toBe('INVALID_ASSIGNEE');
      }
      expect((await post('bureauA', 'assign', { userId: 'nope' })).statusCode).toBe(400);

      const note = await post('officerA', 'notes', { text: '已电话联系对象，称腕带被门夹住' });
      expect(note.statusCode).toBe(201);
      expect(note.json().notes).toEqual([
        expect.objectContaining({
          action: 'note',
          authorId: s.userIds.officerA,
          text: '已电话联系对象，称腕带被门夹住',
        }),
      ]);
      expect((await post('officerA', 'notes', { text: '   ' })).statusCode).toBe(400);

      const noNote = await post('officerA', 'resolve', { resolution: 'device_fault' });
      expect(noNote.statusCode).toBe(400);
      expect(noNote.json().error.message).toContain('note');
      const emptyNote = await post('officerA', 'resolve', {
        note: '',
        resolution: 'device_fault',
      });
      expect(emptyNote.statusCode).toBe(400);
      // A tamper alert needs a reason other than 'other' (or none at all).
      const noReason = await post('officerA', 'resolve', { note: '处理完毕' });
      expect(noReason.statusCode).toBe(400);
      expect(noReason.json().error.code).toBe('RESOLUTION_REQUIRED');
      expect(noReason.json().error.message).toContain('resolution');
      const other = await post('officerA', 'resolve', { note: '处理完毕', resolution: 'other' });
      expect(other.statusCode).toBe(400);
      expect(
        (await post('officerA', 'resolve', { note: 'x', resolution: 'withdrawn' })).statusCode,
      ).toBe(400);

      const resolved = await post('officerA', 'resolve', {
        note: '现场核实：腕带卡扣损坏，已更换',
        resolution: 'device_fault',
      });
      expect(resolved.statusCode).toBe(200);
      expect(resolved.json()).toMatchObject({
        status: 'resolved',
        resolution: 'device_fault',
        resolvedBy: s.userIds.officerA,
      });
      const again = await post('bureauA', 'resolve', {
        note: '再次处置',
        resolution: 'confirmed_violation',
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe('ALERT_ALREADY_RESOLVED');
      expect((await post('officerA', 'acknowledge')).statusCode).toBe(409);
      expect((await post('officerA', 'assign', { userId: s.userIds.officerA })).statusCode).toBe(
        409,
      );

      const detail = (await s.as('auditorA', { url: `/api/v1/alerts/${id}` })).json();
      expect(
        detail.history.map((h: { action: string; actorId: string | null }) => [
          h.action,
          h.actorId,
        ]),
      ).toEqual([
        ['raised', null],
        ['acknowledged', s.userIds.officerA],
        ['assigned', s.userIds.bureauA],
        ['note', s.userIds.officerA],
        ['resolved', s.userIds.officerA],
      ]);
      expect(detail.history[2].data).toMatchObject({ assigneeId: s.userIds.officerA });
      expect(detail.history[4]).toMatchObject({
        note: '现场核实：腕带卡扣损坏，已更换',
        actorName: 'officerA',
      });
      const times = detail.history.map((h: { at: string }) => Date.parse(h.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(detail.notes.map((n: { text: string }) => n.text)).toEqual([
        '已电话联系对象，称腕带被门夹住',
        '现场核实：腕带卡扣损坏，已更换',
      ]);
      // The contract's Alert fields are all there.
      for (const field of [
        'id',
        'type',
        'severity',
        'status',
        'subjectId',
        'deviceId',
        'zoneId',
        'startedAt',
        'endedAt',
        'raisedAt',
        'late',
        'lateByMs',
        'lat',
        'lon',
        'notes',
      ])
        expect(detail, field).toHaveProperty(field);

      const outbox = await s.db
        .selectFrom('outbox')
        .select(['topic', 'payload'])
        .where(sql<boolean>`payload->>'alertId' = ${id}`)
        .orderBy('id')
        .execute();
      expect(outbox.map((o) => o.topic)).toEqual(Array(4).fill('alert_update'));
      expect(outbox.map((o) => o.payload)).toEqual(
        ['acknowledged', 'assigned', 'note', 'resolved'].map((action) => ({
          alertId: id,
          action,
          jurisdictionCode: A.township,
          subjectId: subjectA.subjectId,
        })),
      );
      const audited = await s.db
        .selectFrom('audit_log')
        .select(['action', 'actor_id', 'jurisdiction_code'])
        .where('resource_id', '=', id)
        .orderBy('id')
        .execute();
      expect(audited).toEqual([
        {
          action: 'alert.acknowledge',
          actor_id: s.userIds.officerA,
          jurisdiction_code: A.township,
        },
        { action: 'alert.assign', actor_id: s.userIds.bureauA, jurisdiction_code: A.township },
        { action: 'alert.note', actor_id: s.userIds.officerA, jurisdiction_code: A.township },
        { action: 'alert.resolve', actor_id: s.userIds.officerA, jurisdiction_code: A.township },
      ]);
      await waitFor(() => notified.length >= 4, 5_000, 'four ccm_outbox notifications');
    } finally {
      await unlisten();
    }
  });

  it('a non-tamper alert may be resolved without a reason code, but never without a note', async () => {
    const id = await seedAlert(s.db, subjectA, { type: 'battery_low', severity: 'low' });
    const url = `/api/v1/alerts/${id}/resolve`;
    expect((await s.as('officerA', { method: 'POST', url, payload: {} })).statusCode).toBe(400);
    const ok = await s.as('officerA', { method: 'POST', url, payload: { note: '已充电' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'resolved', resolution: 'other' });
  });

  it('sorts by severity then age by default, newest first on request, and pages without repeats', async () => {
    const subj = await seedSubject(s.db, 'A');
    const ids = {
      lowOld: await seedAlert(s.db, subj, { severity: 'low', raisedAt: '2026-05-01T08:00:00Z' }),
      critNew: await seedAlert(s.db, subj, {
        severity: 'critical',
        type: 'sos',
        raisedAt: '2026-05-03T08:00:00Z',
      }),
      // Two alerts in the same millisecond: the cursor must keep microseconds.
      critOldA: await seedAlert(s.db, subj, {
        severity: 'critical',
        type: 'sos',
        raisedAt: '2026-05-02T08:00:00.000100Z',
      }),
      critOldB: await seedAlert(s.db, subj, {
        severity: 'critical',
        type: 'sos',
        raisedAt: '2026-05-02T08:00:00.000200Z',
      }),
      highMid: await seedAlert(s.db, subj, {
        severity: 'high',
        raisedAt: '2026-05-02T12:00:00Z',
        late: true,
      }),
    };
    const list = async (query: string) => {
      const res = await s.as('officerA', {
        url: `/api/v1/alerts?subjectId=${subj.subjectId}&${query}`,
      });
      expect(res.statusCode, query).toBe(200);
      return res.json() as { items: { id: string }[]; nextCursor: string | null };
    };
    const bySeverity = [ids.critOldA, ids.critOldB, ids.critNew, ids.highMid, ids.lowOld];
    expect((await list('')).items.map((a) => a.id)).toEqual(bySeverity);
    const newest = [ids.critNew, ids.highMid, ids.critOldB, ids.critOldA, ids.lowOld];
    expect((await list('sort=raisedAt')).items.map((a) => a.id)).toEqual(newest);

    for (const [sort, order] of [
      ['severity', bySeverity],
      ['raisedAt', newest],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const pageRes: { items: { id: string }[]; nextCursor: string | null } = await list(
          `sort=${sort}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...pageRes.items.map((a) => a.id));
        cursor = pageRes.nextCursor;
      } while (cursor && seen.length < 10);
      expect(seen, sort).toEqual(order);
    }

    expect((await list('severity=critical')).items).toHaveLength(3);
    expect((await list('late=true')).items.map((a) => a.id)).toEqual([ids.highMid]);
    expect((await list('late=false')).items).toHaveLength(4);
    expect((await list('type=zone_exit')).items.map((a) => a.id)).toEqual([
      ids.highMid,
      ids.lowOld,
    ]);
    expect(
      (await list('from=2026-05-02T00:00:00Z&to=2026-05-03T00:00:00Z')).items.map((a) => a.id),
    ).toEqual([ids.critOldA, ids.critOldB, ids.highMid]);
    expect((await list('status=resolved')).items).toHaveLength(0);

    const bad = await s.as('officerA', { url: '/api/v1/alerts?status=closed' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('status');
    const badCursor = await s.as('officerA', { url: '/api/v1/alerts?cursor=bm9wZQ' });
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().error.code).toBe('BAD_CURSOR');
    const badWindow = await s.as('officerA', {
      url: '/api/v1/alerts?from=2026-05-03T00:00:00Z&to=2026-05-02T00:00:00Z',
    });
    expect(badWindow.statusCode).toBe(400);
    expect(badWindow.json().error.message).toContain('to');
  });

  it('the OpenAPI document still builds with these routes', async () => {
    const res = await s.app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/alerts',
        '/api/v1/alerts/{id}',
        '/api/v1/alerts/{id}/resolve',
        '/api/v1/subjects/{id}/positions',
        '/api/v1/positions/latest',
        '/api/v1/police/position-queries',
        '/api/v1/police/subjects',
      ]),
    );
  });
});

describe('alerts: escalation of unattended critical alerts', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  it('escalates only overdue, unacknowledged critical alerts, each once, to the county bureau', async () => {
    const subjA = await seedSubject(s.db, 'A');
    const subjB = await seedSubject(s.db, 'B');
    const now = new Date('2026-06-01T12:00:00Z');
    const ago = (minutes: number) => new Date(now.getTime() - minutes * MIN);
    const overdueA = await seedAlert(s.db, subjA, {
      severity: 'critical',
      type: 'sos',
      raisedAt: ago(20),
    });
    const overdueB = await seedAlert(s.db, subjB, {
      severity: 'critical',
      type: 'strap_tamper',
      raisedAt: ago(16),
    });
    const notYet = await seedAlert(s.db, subjA, {
      severity: 'critical',
      type: 'sos',
      raisedAt: ago(5),
    });
    const acknowledged = await seedAlert(s.db, subjA, {
      severity: 'critical',
      type: 'sos',
      status: 'acknowledged',
      raisedAt: ago(60),
    });
    const resolved = await seedAlert(s.db, subjA, {
      severity: 'critical',
      type: 'sos',
      status: 'resolved',
      raisedAt: ago(60),
    });
    const high = await seedAlert(s.db, subjA, { severity: 'high', raisedAt: ago(60) });

    const first = await escalateOverdueAlerts(s.db, { afterMinutes: 15, now });
    expect(first.map((e) => e.alertId).sort()).toEqual([overdueA, overdueB].sort());
    expect(first.find((e) => e.alertId === overdueA)).toEqual({
      alertId: overdueA,
      jurisdictionCode: A.township,
      bureauJurisdictionCode: A.county,
    });
    expect(first.find((e) => e.alertId === overdueB)?.bureauJurisdictionCode).toBe(B.county);

    // A second run (or a second timer) escalates nothing again.
    expect(await escalateOverdueAlerts(s.db, { afterMinutes: 15, now })).toEqual([]);

    const rows = await s.db
      .selectFrom('alerts')
      .select(['id', 'escalated_at', 'status'])
      .where('id', 'in', [overdueA, overdueB, notYet, acknowledged, resolved, high])
      .execute();
    const escalatedAt = new Map(rows.map((r) => [r.id, r.escalated_at]));
    expect(escalatedAt.get(overdueA)).toEqual(now);
    expect(escalatedAt.get(overdueB)).toEqual(now);
    for (const id of [notYet, acknowledged, resolved, high]) expect(escalatedAt.get(id)).toBeNull();
    expect(rows.find((r) => r.id === overdueA)?.status).toBe('open');

    const events = await s.db
      .selectFrom('alert_events')
      .select(['alert_id', 'actor_id', 'data', 'at'])
      .where('action', '=', 'escalated')
      .execute();
    expect(events).toHaveLength(2);
    const eventA = events.find((e) => e.alert_id === overdueA)!;
    expect(eventA.actor_id).toBeNull();
    expect(eventA.at).toEqual(now);
    expect(eventA.data).toMatchObject({ bureauJurisdictionCode: A.county });
    const outbox = await s.db
      .selectFrom('outbox')
      .select(['topic', 'payload'])
      .where(sql<boolean>`payload->>'action' = 'escalated'`)
      .execute();
    expect(outbox).toHaveLength(2);
    expect(outbox.map((o) => o.payload)).toContainEqual({
      alertId: overdueA,
      action: 'escalated',
      jurisdictionCode: A.township,
      subjectId: subjA.subjectId,
    });
    expect(
      await s.db
        .selectFrom('audit_log')
        .select('resource_id')
        .where('action', '=', 'alert.escalate')
        .execute(),
    ).toHaveLength(2);

    const view = (await s.as('bureauA', { url: `/api/v1/alerts/${overdueA}` })).json();
    expect(view.escalatedAt).toBe(now.toISOString());
    expect(view.history.at(-1)).toMatchObject({ action: 'escalated', actorId: null });

    // Ten minutes later the younger one is overdue too, and only it escalates.
    const later = await escalateOverdueAlerts(s.db, {
      afterMinutes: 15,
      now: new Date(now.getTime() + 10 * MIN),
    });
    expect(later.map((e) => e.alertId)).toEqual([notYet]);
  });
});
