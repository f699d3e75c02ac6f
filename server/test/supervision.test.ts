import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCommandDispatcher,
  startGateway,
  type CommandDispatcher,
  type Gateway,
} from '@ccm/device-gateway';
import { DeviceClient } from '@ccm/simulators';
import {
  seedMonitoredDevice,
  startMosquitto,
  waitFor,
  type MosquittoProcess,
  type SeededDevice,
} from '@ccm/test-support';
import { SupervisionWorker } from '../src/supervision/worker';
import { expectMatrix, startTestServer, type TestServer } from './support';

/**
 * Supervision workflows end to end: devices speak the contract over a real Mosquitto, the
 * real gateway stores what they send in PostgreSQL, and the supervision rules run as the
 * platform runs them (a pass at a chosen time, or kicked by the gateway's NOTIFY).
 */
const silent = pino({ level: 'silent' });
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const HOME = { lat: 22.817, lon: 108.366 };
/** ~3.3 km east of home: the township office with its terminal. */
const OFFICE = { lat: 22.817, lon: 108.398 };

describe('supervision workflows through the real broker and database', () => {
  let s: TestServer;
  let broker: MosquittoProcess;
  let gateway: Gateway;
  let platformClient: mqtt.MqttClient;
  let dispatcher: CommandDispatcher;
  let worker: SupervisionWorker;
  let terminal: DeviceClient;
  let terminalSeed: SeededDevice;
  let unlisten: () => Promise<void>;
  const clients: DeviceClient[] = [];

  beforeAll(async () => {
    s = await startTestServer();
    broker = await startMosquitto();
    gateway = await startGateway({
      database: s.t.database,
      mqttUrl: broker.url,
      logger: silent,
      options: { gapForgiveAfterMs: 1000 },
    });
    await gateway.ready;
    platformClient = await mqtt.connectAsync(broker.url, { clientId: 'ccm-supervision-test' });
    dispatcher = startCommandDispatcher(s.db, platformClient, { intervalMs: 200 });
    // Never a random request unless a test asks for one.
    worker = new SupervisionWorker(s.db, silent, { intervalS: 60, random: () => 1 });
    // As the platform does: a committed check-in kicks a pass.
    unlisten = await s.t.database.listen('ccm_checkin', () => worker.kick());
    terminalSeed = await seedMonitoredDevice(s.db, {
      deviceId: 'term-office-1',
      kind: 'terminal',
      order: null,
    });
    terminal = await connect('term-office-1');
  });
  afterAll(async () => {
    await unlisten?.();
    await worker?.stop();
    for (const c of clients) await c.close();
    dispatcher?.close();
    await platformClient?.endAsync();
    await gateway?.close();
    await broker?.stop();
    await s?.close();
  });

  async function connect(deviceId: string) {
    const client = new DeviceClient({ url: broker.url, deviceId, resendAfterMs: 2000 });
    await client.connect();
    clients.push(client);
    return client;
  }

  async function wristband(deviceId: string, order?: { startsAt: Date; endsAt: Date }) {
    const seeded = await seedMonitoredDevice(s.db, { deviceId, ...(order ? { order } : {}) });
    await s.db
      .updateTable('subjects')
      .set({ checkin_device_id: 'term-office-1' })
      .where('id', '=', seeded.subjectId)
      .execute();
    return { seeded, client: await connect(deviceId) };
  }

  const alertsOf = async (subjectId: string, type: string) =>
    s.db
      .selectFrom('alerts')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .where('type', '=', type)
      .execute();

  const requestsOf = (subjectId: string) =>
    s.db
      .selectFrom('checkin_requests')
      .selectAll()
      .where('subject_id', '=', subjectId)
      .orderBy('window_start')
      .execute();

  async function checkin(
    subjectId: string,
    tMs: number,
    result: 'match' | 'no_match' | 'spoof_suspected',
    at = OFFICE,
  ) {
    const seq = terminal.sendCheckin({
      t: tMs,
      subjectId,
      method: 'fingerprint',
      result,
      score: result === 'match' ? 0.94 : 0.31,
      liveness: result !== 'spoof_suspected',
      lat: at.lat,
      lon: at.lon,
    });
    await terminal.waitAcked(seq);
  }

  const reviewOf = (deviceNo: number, tMs: number) =>
    s.db
      .selectFrom('checkin_reviews')
      .selectAll()
      .where('device_no', '=', deviceNo)
      .where('t', '=', new Date(tMs))
      .executeTakeFirst();

  it('a scheduled check-in met in time closes; one not made by its deadline raises checkin_missed', async () => {
    const { seeded } = await wristband('wb-sched-1');
    const now = Date.now();
    await worker.runOnce(now);
    const [first] = await requestsOf(seeded.subjectId);
    expect(first).toMatchObject({ kind: 'scheduled', status: 'pending' });
    // 严管: twice a week, so every window is 3.5 days.
    expect(first!.due_at.getTime() - first!.window_start.getTime()).toBeLessThanOrEqual(
      3.5 * 24 * 60 * MIN,
    );

    // A matching check-in at the office terminal meets it.
    const at = Date.now() + 1_000;
    await checkin(seeded.subjectId, at, 'match');
    await waitFor(
      async () => (await requestsOf(seeded.subjectId))[0]?.status === 'met',
      15_000,
      'request met',
    );
    expect((await reviewOf(terminalSeed.deviceNo, at))?.outcome).toBe('ok');

    // The next window passes with no check-in: missed, alerted, the officer told.
    const next = first!.due_at.getTime() + 60 * MIN;
    await worker.runOnce(next);
    const second = (await requestsOf(seeded.subjectId))[1]!;
    expect(second.status).toBe('pending');
    await worker.runOnce(second.due_at.getTime() + 11 * MIN);
    const after = (await requestsOf(seeded.subjectId))[1]!;
    expect(after.status).toBe('missed');
    const missed = await alertsOf(seeded.subjectId, 'checkin_missed');
    expect(missed).toHaveLength(1);
    expect(missed[0]).toMatchObject({ id: after.alert_id, status: 'open', severity: 'medium' });
    expect(missed[0]!.started_at).toEqual(second.due_at);
    const notes = await s.as('officerA', { method: 'GET', url: '/api/v1/notifications' });
    expect(notes.json().items).toContainEqual(
      expect.objectContaining({ kind: 'checkin_missed', subjectId: seeded.subjectId }),
    );
    // Running the rules again changes nothing.
    await worker.runOnce(second.due_at.getTime() + 20 * MIN);
    expect(await alertsOf(seeded.subjectId, 'checkin_missed')).toHaveLength(1);

    // The API shows both, and the rate.
    const stats = await s.as('officerA', {
      method: 'GET',
      url: `/api/v1/subjects/${seeded.subjectId}/checkin-stats?from=${new Date(now - 30 * 24 * 60 * MIN).toISOString()}&to=${new Date(second.due_at.getTime() + MIN).toISOString()}`,
    });
    expect(stats.statusCode).toBe(200);
    expect(stats.json().requests).toMatchObject({ owed: 2, met: 1, missed: 1, rate: 0.5 });
  });

  it('a failed or spoofed check-in raises checkin_failed with the verifier result', async () => {
    const { seeded } = await wristband('wb-spoof-1');
    const t = Date.now() - 30_000;
    await checkin(seeded.subjectId, t, 'spoof_suspected');
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'checkin_failed')).length === 1,
      15_000,
      'checkin_failed alert',
    );
    const [alert] = await alertsOf(seeded.subjectId, 'checkin_failed');
    expect(alert).toMatchObject({ severity: 'high', device_id: 'term-office-1', late: false });
    expect(alert!.evidence).toMatchObject({
      kind: 'checkin',
      method: 'fingerprint',
      result: 'spoof_suspected',
      liveness: false,
    });
    expect(await reviewOf(terminalSeed.deviceNo, t)).toMatchObject({
      outcome: 'failed',
      alert_id: alert!.id,
    });
    // A failed check-in meets nothing.
    expect((await requestsOf(seeded.subjectId)).filter((r) => r.status === 'met')).toHaveLength(0);
    // It reached the officer's alert queue.
    const list = await s.as('officerA', {
      method: 'GET',
      url: `/api/v1/alerts?subjectId=${seeded.subjectId}`,
    });
    expect(list.json().items.map((a: { type: string }) => a.type)).toEqual(['checkin_failed']);
  });

  it('a terminal offline for ten days uploads a failed check-in: still reviewed, raised late', async () => {
    const { seeded } = await wristband('wb-backlog-1');
    const t = Date.now() - 10 * DAY;
    await checkin(seeded.subjectId, t, 'no_match');
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'checkin_failed')).length === 1,
      15_000,
      'checkin_failed from a ten-day-old check-in',
    );
    const [alert] = await alertsOf(seeded.subjectId, 'checkin_failed');
    expect(alert).toMatchObject({ late: true });
    expect(alert!.started_at).toEqual(new Date(t));
    expect(await reviewOf(terminalSeed.deviceNo, t)).toMatchObject({ outcome: 'failed' });
  });

  it('a check-in far from where the wristband is raises device_separation; a near one does not', async () => {
    const { seeded, client } = await wristband('wb-sep-1');
    const now = Date.now();
    // The band sits at home, reporting every minute.
    const fixes = Array.from({ length: 10 }, (_, i) => ({
      t: now - (10 - i) * MIN,
      lat: HOME.lat,
      lon: HOME.lon,
      acc: 8,
      src: 'gnss' as const,
    }));
    await client.waitAcked(client.sendFixes(fixes));
    // The subject checks in at the office, 3.3 km away, two minutes ago.
    await checkin(seeded.subjectId, now - 2 * MIN, 'match');
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'device_separation')).length === 1,
      15_000,
      'separation alert',
    );
    const [alert] = await alertsOf(seeded.subjectId, 'device_separation');
    const evidence = alert!.evidence as {
      distanceM: number;
      thresholdM: number;
      wristband: { deviceId: string; lat: number };
      checkin: { deviceId: string };
    };
    expect(evidence.distanceM).toBeGreaterThan(3000);
    expect(evidence.distanceM).toBeLessThan(3600);
    expect(evidence.thresholdM).toBe(100 + 8 + 200);
    expect(evidence.wristband).toMatchObject({ deviceId: 'wb-sep-1', lat: HOME.lat });
    expect(evidence.checkin).toMatchObject({ deviceId: 'term-office-1' });
    expect(alert).toMatchObject({ device_id: 'wb-sep-1', severity: 'high' });

    // A check-in from home (a phone call, say) with the band there: no separation.
    await checkin(seeded.subjectId, now - 4 * MIN, 'match', HOME);
    await waitFor(
      async () => (await reviewOf(terminalSeed.deviceNo, now - 4 * MIN)) !== undefined,
      15_000,
      'review',
    );
    const near = await reviewOf(terminalSeed.deviceNo, now - 4 * MIN);
    expect(near).toMatchObject({ outcome: 'ok', alert_id: null });
    expect(near!.distance_m).toBeLessThan(50);
    expect(await alertsOf(seeded.subjectId, 'device_separation')).toHaveLength(1);
  });

  it('a band that has not moved for hours while the subject checks in elsewhere: separation', async () => {
    const { seeded, client } = await wristband('wb-sep-still');
    const now = Date.now();
    // Every 10 minutes from 7 h to 30 min ago, always the same spot; then nothing recent.
    const still = Array.from({ length: 40 }, (_, i) => ({
      t: now - 7 * 60 * MIN + i * 10 * MIN,
      lat: HOME.lat,
      lon: HOME.lon,
      acc: 12,
      src: 'gnss' as const,
    })).filter((f) => f.t <= now - 30 * MIN);
    await client.waitAcked(client.sendFixes(still));
    await checkin(seeded.subjectId, now, 'match');
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'device_separation')).length === 1,
      15_000,
      'separation from a still band',
    );
    const [alert] = await alertsOf(seeded.subjectId, 'device_separation');
    const band = (alert!.evidence as { wristband: { stationarySince: string | null; t: string } })
      .wristband;
    expect(band.stationarySince).toEqual(new Date(now - 6 * 60 * MIN).toISOString());
    expect(Date.parse(band.t)).toBe(now - 30 * MIN);
  });

  it('an officer asks for a check-in now: the terminal gets checkin_request', async () => {
    const { seeded } = await wristband('wb-req-1');
    const res = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/subjects/${seeded.subjectId}/checkin-requests`,
      payload: { deadlineMinutes: 60, note: '电话抽查 / spot check' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ kind: 'manual', method: 'fingerprint', status: 'pending' });
    await waitFor(
      () => terminal.commands.some((c) => (c as { id: string }).id === body.commandId),
      10_000,
      'command delivered',
    );
    const command = terminal.commands.find((c) => (c as { id: string }).id === body.commandId) as {
      type: string;
      params: { method: string; deadline: number };
    };
    expect(command.type).toBe('checkin_request');
    expect(command.params).toEqual({ method: 'fingerprint', deadline: Date.parse(body.dueAt) });
    // Nobody outside the office's scope may ask, police and auditors never.
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
      (user) =>
        s.as(user, {
          method: 'POST',
          url: `/api/v1/subjects/${seeded.subjectId}/checkin-requests`,
          payload: {},
        }),
    );
  });

  it('approved leave authorises the county exit (on record, no warning); a late return raises zone_exit and is linked', async () => {
    const { seeded, client } = await wristband('wb-leave-1');
    const county = await s.as('bureauA', {
      method: 'POST',
      url: '/api/v1/zones',
      payload: {
        name: '青秀区（测试圆）',
        kind: 'inclusion',
        purpose: 'county',
        geometry: { type: 'Circle', center: [HOME.lon, HOME.lat], radiusM: 20_000 },
        jurisdictionCode: '450103',
      },
    });
    expect(county.statusCode).toBe(201);
    const assign = await s.as('bureauA', {
      method: 'PUT',
      url: `/api/v1/subjects/${seeded.subjectId}/zones/${county.json().id}`,
      payload: {},
    });
    expect(assign.statusCode).toBeLessThan(300);
    // The gateway reloads zones on NOTIFY ccm_config within a second; here, at once.
    await gateway.reloadConfig();

    const now = Date.now();
    const startsAt = new Date(now - 10 * 60 * MIN);
    const endsAt = new Date(now + 1 * MIN);
    // 桂林 (Guilin), ~330 km north-east.
    const guilin = { lat: 25.27, lon: 110.29 };
    const leave = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/subjects/${seeded.subjectId}/leaves`,
      payload: {
        destination: '桂林市七星区',
        destinationGeometry: { type: 'Circle', center: [guilin.lon, guilin.lat], radiusM: 10_000 },
        reason: '探望住院的母亲 / visiting mother in hospital',
        startsAt: startsAt.toISOString(),
        endsAt: endsAt.toISOString(),
        travelHours: 4,
      },
    });
    expect(leave.statusCode).toBe(201);
    expect(leave.json()).toMatchObject({ approvalLevel: 'township', status: 'pending' });

    // The trip: in Guilin during the leave (uploaded as backlogs). The first part arrives
    // before the office records the approval (the subject left early in the morning): the
    // county exit is raised…
    // A fix a minute for the first 10 minutes, then one every 10 minutes.
    const away = Array.from({ length: 30 }, (_, i) => ({
      t: now - 9 * 60 * MIN + (i < 10 ? i : 10 + (i - 10) * 10) * MIN,
      lat: guilin.lat,
      lon: guilin.lon,
      acc: 10,
      src: 'gnss' as const,
    }));
    await client.waitAcked(client.sendFixes(away.slice(0, 10)));
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'zone_exit')).length === 1,
      15_000,
      'zone_exit before the approval',
    );
    const [early] = await alertsOf(seeded.subjectId, 'zone_exit');

    const approved = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/leaves/${leave.json().id}/approve`,
      payload: { note: '同意 / approved' },
    });
    expect(approved.statusCode).toBe(200);
    expect(approved.json().zoneId).toEqual(expect.any(String));
    // …and the approval closes it as authorised, with the leave's reason on it.
    const excused = await s.db
      .selectFrom('alerts')
      .select(['status', 'resolution'])
      .where('id', '=', early!.id)
      .executeTakeFirstOrThrow();
    expect(excused).toEqual({ status: 'resolved', resolution: 'authorised' });
    const note = await s.db
      .selectFrom('alert_events')
      .select('note')
      .where('alert_id', '=', early!.id)
      .where('action', '=', 'resolved')
      .executeTakeFirstOrThrow();
    expect(note.note).toContain('探望住院的母亲');
    // The gateway reloads zones and leaves on NOTIFY ccm_config within a second; here, at once.
    await gateway.reloadConfig();
    const approvedAt = new Date();
    // The rest of the stay raises no violation: the exit the county rule would have raised
    // is on record, closed as authorised by the platform, with the leave's reason on it.
    await client.waitAcked(client.sendFixes(away.slice(10)));
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'zone_exit')).length === 2,
      15_000,
      'the authorised exit during the leave',
    );
    const [authorised] = (await alertsOf(seeded.subjectId, 'zone_exit')).filter(
      (a) => a.id !== early!.id,
    );
    expect(authorised).toMatchObject({ status: 'resolved', resolution: 'authorised' });
    expect(authorised!.started_at.getTime()).toBeGreaterThanOrEqual(startsAt.getTime());
    const raised = await s.db
      .selectFrom('alert_events')
      .select(['note', 'data'])
      .where('alert_id', '=', authorised!.id)
      .where('action', '=', 'raised')
      .executeTakeFirstOrThrow();
    expect(raised.note).toContain('探望住院的母亲');
    expect(raised.note).toContain('桂林市七星区');
    expect(raised.data).toMatchObject({ resolution: 'authorised', leaveId: leave.json().id });
    // Nothing told the wearer to go back during the leave.
    const warned = await s.db
      .selectFrom('device_commands')
      .select('id')
      .where('device_id', '=', seeded.deviceId)
      .where('type', '=', 'warn')
      .where('created_at', '>=', approvedAt)
      .execute();
    expect(warned).toEqual([]);
    // Still in Guilin after the leave ended: fixes 30 s apart from 30 s after the end.
    const late = Array.from({ length: 6 }, (_, i) => ({
      t: endsAt.getTime() + 30_000 + i * 30_000,
      lat: guilin.lat,
      lon: guilin.lon,
      acc: 10,
      src: 'gnss' as const,
    }));
    await client.waitAcked(client.sendFixes(late));
    await waitFor(
      async () => (await alertsOf(seeded.subjectId, 'zone_exit')).length === 3,
      15_000,
      'zone_exit after the leave',
    );
    const exits = (await alertsOf(seeded.subjectId, 'zone_exit')).filter(
      (a) => a.id !== early!.id && a.id !== authorised!.id,
    );
    // The authorised record ends with the leave; the violation starts after it.
    expect(exits).toHaveLength(1);
    expect(exits[0]!.zone_id).toBe(county.json().id);
    expect(exits[0]!.status).toBe('open');
    expect(exits[0]!.started_at.getTime()).toBeGreaterThanOrEqual(endsAt.getTime());
    const ended = await s.db
      .selectFrom('alerts')
      .select('ended_at')
      .where('id', '=', authorised!.id)
      .executeTakeFirstOrThrow();
    expect(ended.ended_at).toEqual(endsAt);

    // The return check links it and tells the office and the bureau.
    await worker.runOnce(endsAt.getTime() + 31 * MIN);
    const checked = await s.as('auditorA', {
      method: 'GET',
      url: `/api/v1/leaves/${leave.json().id}`,
    });
    expect(checked.json()).toMatchObject({
      returnStatus: 'not_returned',
      returnAlertId: exits[0]!.id,
    });
    const bureauNotes = await s.as('bureauA', { method: 'GET', url: '/api/v1/notifications' });
    expect(bureauNotes.json().items).toContainEqual(
      expect.objectContaining({ kind: 'leave_not_returned', subjectId: seeded.subjectId }),
    );
  });

  it('leave approval follows the length: ≤ 7 days the office, longer the bureau, never > 30', async () => {
    const { seeded } = await wristband('wb-leave-2');
    const start = Date.now() + 24 * 60 * MIN;
    const body = (days: number) => ({
      destination: '柳州市',
      destinationGeometry: { type: 'Circle', center: [109.41, 24.33], radiusM: 15_000 },
      reason: '务工 / work',
      startsAt: new Date(start).toISOString(),
      endsAt: new Date(start + days * 24 * 60 * MIN).toISOString(),
    });
    const long = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/subjects/${seeded.subjectId}/leaves`,
      payload: body(10),
    });
    expect(long.json()).toMatchObject({ approvalLevel: 'county', days: 10 });
    const byOffice = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/leaves/${long.json().id}/approve`,
      payload: {},
    });
    expect(byOffice.statusCode).toBe(403);
    expect(byOffice.json().error.code).toBe('LEAVE_NEEDS_BUREAU');
    const byBureau = await s.as('bureauA', {
      method: 'POST',
      url: `/api/v1/leaves/${long.json().id}/approve`,
      payload: {},
    });
    expect(byBureau.statusCode).toBe(200);
    // An overlapping second leave cannot be approved.
    const overlapping = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/subjects/${seeded.subjectId}/leaves`,
      payload: body(3),
    });
    const refused = await s.as('officerA', {
      method: 'POST',
      url: `/api/v1/leaves/${overlapping.json().id}/approve`,
      payload: {},
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('LEAVE_OVERLAPS');
    const tooLong = await s.as('bureauA', {
      method: 'POST',
      url: `/api/v1/subjects/${seeded.subjectId}/leaves`,
      payload: body(31),
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.code).toBe('LEAVE_TOO_LONG');
    // The other branch does not see the subject at all.
    const other = await s.as('officerB', {
      method: 'POST',
      url: `/api/v1/subjects/${seeded.subjectId}/leaves`,
      payload: body(2),
    });
    expect(other.statusCode).toBe(404);
  });

  it('an order that expires stops tracking: reminders before, expired after, no position after', async () => {
    const now = Date.now();
    const { seeded, client } = await wristband('wb-expire-1', {
      startsAt: new Date(now - 24 * 60 * MIN),
      endsAt: new Date(now + 4_000),
    });
    await worker.runOnce(now);
    const reminders = await s.db
      .selectFrom('notifications')
      .select(['kind', 'ref_id'])
      .where('subject_id', '=', seeded.subjectId)
      .where('kind', '=', 'order_expiring')
      .execute();
    // Both reminders (7 days and 1 day) are due for an order ending in seconds, each once.
    expect(reminders).toHaveLength(2);
    expect(reminders.every((r) => r.ref_id === seeded.orderId)).toBe(true);

    const fix = (t: number) => ({ t, lat: HOME.lat, lon: HOME.lon, acc: 6, src: 'gnss' as const });
    await client.waitAcked(client.sendFixes([fix(now - MIN)]));
    await new Promise((r) => setTimeout(r, 4_500));
    // After the end the same device's fixes are not positions of anyone.
    await client.waitAcked(client.sendFixes([fix(Date.now())]));
    const stored = await s.db
      .selectFrom('fixes')
      .select('t')
      .where('subject_no', '=', seeded.subjectNo)
      .execute();
    expect(stored.map((r) => r.t.getTime())).toEqual([now - MIN]);

    await worker.runOnce(Date.now());
    const order = await s.as('officerA', {
      method: 'GET',
      url: `/api/v1/monitoring-orders/${seeded.orderId}`,
    });
    expect(order.json()).toMatchObject({ status: 'expired' });
    expect(order.json().endReason ?? '').toMatch(/expired/);
    const latest = await s.as('officerA', { method: 'GET', url: '/api/v1/positions/latest' });
    expect(
      latest.json().items.some((p: { subjectId: string }) => p.subjectId === seeded.subjectId),
    ).toBe(false);
    const notes = await s.as('officerA', { method: 'GET', url: '/api/v1/notifications' });
    expect(notes.json().items).toContainEqual(
      expect.objectContaining({ kind: 'order_expired', refId: seeded.orderId }),
    );
  });

  it('prunes outbox rows older than a week, keeps newer ones', async () => {
    const old = await s.db
      .insertInto('outbox')
      .values({ topic: 'alert', payload: '{}', created_at: new Date(Date.now() - 8 * 86_400_000) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const recent = await s.db
      .insertInto('outbox')
      .values({ topic: 'alert', payload: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const report = await worker.runOnce(Date.now());
    expect(report.pruned).toBeGreaterThanOrEqual(1);
    const left = await s.db
      .selectFrom('outbox')
      .select('id')
      .where('id', 'in', [old.id, recent.id])
      .execute();
    expect(left.map((r) => r.id)).toEqual([recent.id]);
  });

  it('check-in history is scoped and its reading audited', async () => {
    const { seeded } = await wristband('wb-hist-1');
    await checkin(seeded.subjectId, Date.now() - 3 * MIN, 'no_match');
    await expectMatrix(
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
      (user) => s.as(user, { method: 'GET', url: `/api/v1/subjects/${seeded.subjectId}/checkins` }),
    );
    const res = await s.as('officerA', {
      method: 'GET',
      url: `/api/v1/subjects/${seeded.subjectId}/checkins`,
    });
    expect(res.json().items[0]).toMatchObject({
      deviceId: 'term-office-1',
      result: 'no_match',
      method: 'fingerprint',
    });
    const audited = await s.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'checkins.read')
      .where('resource_id', '=', seeded.subjectId)
      .execute();
    expect(audited.length).toBeGreaterThanOrEqual(4);
    // Settings: read by the office, changed by the bureau only, validated.
    const bad = await s.as('bureauA', {
      method: 'PUT',
      url: '/api/v1/settings/separation',
      payload: { marginM: -5 },
    });
    expect(bad.statusCode).toBe(400);
    const byOfficer = await s.as('officerA', {
      method: 'PUT',
      url: '/api/v1/settings/separation',
      payload: { marginM: 300 },
    });
    expect(byOfficer.statusCode).toBe(403);
    const read = await s.as('officerA', { method: 'GET', url: '/api/v1/settings/separation' });
    expect(read.json()).toMatchObject({ marginM: 200, checkinAccuracyM: 100 });
  });
});
