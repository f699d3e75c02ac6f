import pino from 'pino';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '@ccm/simulators';
import {
  openTestDatabase,
  seedMonitoredDevice,
  startMosquitto,
  type MosquittoProcess,
  type TestDatabase,
} from '@ccm/test-support';
import { startGateway, type Gateway } from '../src/gateway';

/** Every example of shared/contracts/device-mqtt.md, end to end through a real broker. */
const T = 1_795_900_000_000; // the contract's example time: 2026-11-28T06:26:40Z
const FIX = {
  t: T,
  lat: 22.817012,
  lon: 108.366543,
  acc: 6.5,
  src: 'gnss',
  spd: 1.2,
  hdg: 90,
  sat: 9,
} as const;
const ORDER = {
  startsAt: new Date('2026-11-01T00:00:00Z'),
  endsAt: new Date('2027-01-31T00:00:00Z'),
};

describe.each(['postgres', 'pglite'] as const)('device contract examples on %s', (backend) => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  const devices: DeviceClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase(backend);
    gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
      // Gaps that nothing fills are skipped after 1 s here (75 s in production).
      options: { gapForgiveAfterMs: 1000 },
    });
    await gateway.ready;
  });
  afterAll(async () => {
    for (const d of devices) await d.close();
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
  });

  async function device(id: string, order: typeof ORDER | null = ORDER, kind?: 'terminal') {
    const seeded = await seedMonitoredDevice(t.database.db, {
      deviceId: id,
      order,
      ...(kind ? { kind } : {}),
    });
    const client = new DeviceClient({
      url: broker.url,
      deviceId: id,
      startSeq: 1042,
      resendAfterMs: 2000,
    });
    await client.connect();
    devices.push(client);
    return { client, seeded };
  }

  it('fix: stores the fix with its exact values and acks the seq after commit', async () => {
    const { client, seeded } = await device('wb-contract-fix');
    const seq = client.sendFixes([FIX]);
    expect(seq).toBe(1042);
    await client.waitAcked(1042);
    const rows = await t.database.db
      .selectFrom('fixes')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      subject_no: seeded.subjectNo,
      lat_e6: 22_817_012,
      lon_e6: 108_366_543,
      acc_dm: 65,
      src: 0,
      spd_cms: 120,
      hdg_deg: 90,
      sat: 9,
      flags: 0,
    });
    expect(rows[0]!.t.getTime()).toBe(T);
    const state = await t.database.db
      .selectFrom('device_state')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .executeTakeFirstOrThrow();
    expect(state).toMatchObject({
      last_seq: 1042,
      acked_seq: 1042,
      last_lat_e6: 22_817_012,
      last_lon_e6: 108_366_543,
    });
    expect(state.last_fix_t?.getTime()).toBe(T);
  });

  it('event, heartbeat: stored, battery/charging/firmware kept current; unknown event types flagged', async () => {
    const { client, seeded } = await device('wb-contract-ev');
    client.sendEvent({ t: T, type: 'battery_low', bat: 18, lat: 22.81, lon: 108.36 });
    client.sendHeartbeat({ t: T + 1000, bat: 87, chg: false, rssi: -71, fw: '1.4.2' });
    const last = client.sendEvent({ t: T + 2000, type: 'vendor_special' });
    await client.waitAcked(last);
    const events = await t.database.db
      .selectFrom('device_events')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .orderBy('t')
      .execute();
    expect(events.map((e) => [e.type, e.known, e.bat])).toEqual([
      ['battery_low', true, 18],
      ['vendor_special', false, null],
    ]);
    expect(events[0]).toMatchObject({
      lat_e6: 22_810_000,
      lon_e6: 108_360_000,
      subject_no: seeded.subjectNo,
    });
    const hb = await t.database.db
      .selectFrom('heartbeats')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .execute();
    expect(hb).toMatchObject([{ bat: 87, chg: false, rssi: -71, fw: '1.4.2' }]);
    const state = await t.database.db
      .selectFrom('device_state')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .executeTakeFirstOrThrow();
    expect(state).toMatchObject({ battery: 87, charging: false, rssi: -71, firmware: '1.4.2' });
  });

  it('checkin: the verifier result is stored against the subject', async () => {
    const { client, seeded } = await device('term-contract', ORDER, 'terminal');
    const seq = client.sendCheckin({
      t: T,
      subjectId: seeded.subjectId,
      method: 'fingerprint',
      result: 'match',
      score: 0.93,
      liveness: true,
      lat: 22.817,
      lon: 108.3665,
    });
    await client.waitAcked(seq);
    const rows = await t.database.db
      .selectFrom('checkins')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      subject_ref: seeded.subjectId,
      method: 'fingerprint',
      result: 'match',
      liveness: true,
    });
    expect(rows[0]!.score).toBeCloseTo(0.93, 5);
  });

  it('checkin at a shared office terminal: resolved to the subject it names', async () => {
    // The office terminal has no monitoring order; the subject who checked in is named.
    const { client, seeded: terminal } = await device('term-office', null, 'terminal');
    const other = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-office-subject' });
    const ok = client.sendCheckin({
      t: T,
      subjectId: other.subjectId,
      method: 'face',
      result: 'match',
      score: 0.91,
    });
    const unknown = client.sendCheckin({
      t: T + 1_000,
      subjectId: 'not-a-subject',
      method: 'face',
      result: 'no_match',
      score: 0.2,
    });
    await client.waitAcked(Math.max(ok, unknown));
    const rows = await t.database.db
      .selectFrom('checkins')
      .select(['subject_ref', 'subject_no', 'result'])
      .where('device_no', '=', terminal.deviceNo)
      .orderBy('t')
      .execute();
    expect(rows).toEqual([
      { subject_ref: other.subjectId, subject_no: other.subjectNo, result: 'match' },
      { subject_ref: 'not-a-subject', subject_no: null, result: 'no_match' },
    ]);
  });

  it('cmd/result: the command the platform sent gets its status', async () => {
    const { client } = await device('wb-contract-cmd');
    const cmd = await t.database.db
      .insertInto('device_commands')
      .values({
        device_id: 'wb-contract-cmd',
        type: 'locate',
        params: '{}',
        expires_at: new Date(Date.now() + 60_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const seq = client.sendCommandResult(cmd.id, 'done');
    await client.waitAcked(seq);
    const row = await t.database.db
      .selectFrom('device_commands')
      .select(['status', 'result_at'])
      .where('id', '=', cmd.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('done');
    expect(row.result_at).not.toBeNull();
  });

  it('status: the retained online/offline (the MQTT will) sets device_state.online', async () => {
    const { client, seeded } = await device('wb-contract-status');
    const online = () =>
      t.database.db
        .selectFrom('device_state')
        .select('online')
        .where('device_no', '=', seeded.deviceNo)
        .executeTakeFirst();
    await expect.poll(async () => (await online())?.online).toBe(true);
    await client.crash(); // no clean disconnect: the broker publishes the will "offline"
    await expect.poll(async () => (await online())?.online, { timeout: 15_000 }).toBe(false);
  });

  it('duplicates are stored once; late fixes are stored but never move the latest position back', async () => {
    const { client, seeded } = await device('wb-contract-dup');
    client.sendFixes([{ ...FIX, t: T + 60_000, lat: 22.82 }]);
    client.sendFixes([{ ...FIX, t: T + 60_000, lat: 22.82 }]); // same device and t: same fix
    const late = client.sendFixes([{ ...FIX, t: T, lat: 22.8 }]); // older, arrives last
    await client.waitAcked(late);
    const rows = await t.database.db
      .selectFrom('fixes')
      .select(['t', 'lat_e6', 'flags'])
      .where('device_no', '=', seeded.deviceNo)
      .orderBy('t')
      .execute();
    expect(rows.map((r) => [r.t.getTime(), r.lat_e6, r.flags])).toEqual([
      [T, 22_800_000, 2], // flagged late
      [T + 60_000, 22_820_000, 0],
    ]);
    const state = await t.database.db
      .selectFrom('device_state')
      .selectAll()
      .where('device_no', '=', seeded.deviceNo)
      .executeTakeFirstOrThrow();
    expect(state.last_lat_e6).toBe(22_820_000);
    expect(state.last_fix_t?.getTime()).toBe(T + 60_000);
  });

  it('quarantines fixes from the future and before 2020; they never become positions', async () => {
    const { client, seeded } = await device('wb-contract-q');
    const seq = client.sendFixes([
      { ...FIX, t: Date.now() + 10 * 60_000 },
      { ...FIX, t: Date.UTC(2019, 11, 31) },
    ]);
    await client.waitAcked(seq);
    const q = await t.database.db
      .selectFrom('quarantined_fixes')
      .select(['reason'])
      .where('device_no', '=', seeded.deviceNo)
      .orderBy('reason')
      .execute();
    expect(q.map((r) => r.reason)).toEqual(['before_2020', 'future']);
    const fixes = await t.database.db
      .selectFrom('fixes')
      .select('t')
      .where('device_no', '=', seeded.deviceNo)
      .execute();
    expect(fixes).toEqual([]);
  });

  it('stores no position outside a monitoring order, and still acknowledges', async () => {
    const { client, seeded } = await device('wb-contract-noorder', null);
    const seq = client.sendFixes([FIX]);
    await client.waitAcked(seq);
    const fixes = await t.database.db
      .selectFrom('fixes')
      .select('t')
      .where('device_no', '=', seeded.deviceNo)
      .execute();
    expect(fixes).toEqual([]);
  });

  it('counts gaps in seq; acks past a gap only when nothing fills it', async () => {
    const { client, seeded } = await device('wb-contract-gap');
    client.sendFixes([{ ...FIX, t: T + 1 }]); // 1042
    await client.waitAcked(1042);
    client.skipSeq(3); // 1043–1045 never existed (lost in a reboot)
    const seq = client.sendFixes([{ ...FIX, t: T + 2 }]); // 1046
    expect(seq).toBe(1046);
    const state = () =>
      t.database.db
        .selectFrom('device_state')
        .select(['seq_gaps', 'acked_seq', 'last_seq'])
        .where('device_no', '=', seeded.deviceNo)
        .executeTakeFirst();
    await expect.poll(async () => (await state())?.last_seq).toBe(1046);
    // Stored, but not yet acknowledged: 1043–1045 might still arrive.
    expect((await state())?.acked_seq).toBe(1042);
    // The device re-sends 1046 (no ack covers it); once the gap has waited long enough, the
    // ack moves past it.
    await client.waitAcked(1046, 20_000);
    expect(await state()).toMatchObject({ seq_gaps: 3, acked_seq: 1046 });
  });

  it('leaves no stray rows: nothing rejected in this file', async () => {
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int n from rejected_messages`.execute(t.database.db);
    expect(rows[0]!.n).toBe(0);
  });
});
