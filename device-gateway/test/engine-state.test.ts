import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import {
  compileZones,
  createSubjectState,
  processBatch,
  zonesForSubject,
  type FixInput,
} from '@ccm/geofence';
import { DeviceClient } from '@ccm/simulators';
import {
  openTestDatabase,
  seedMonitoredDevice,
  startMosquitto,
  TOWNSHIP,
  type MosquittoProcess,
  type SeededDevice,
  type TestDatabase,
} from '@ccm/test-support';
import { loadEngineStates } from '../src/engine-state';
import { startGateway, type Gateway, type GatewayDeps } from '../src/gateway';

/**
 * The engine's state is stored as its decision state plus progress, and its fix window is
 * read back from `fixes` (issue #8). What a gateway decides after a restart must be what it
 * would have decided without one.
 */
const HOME: [number, number] = [108.366543, 22.817012]; // [lon, lat]
const M_PER_DEG_LAT = 111_320;
const north = (m: number) => HOME[1] + m / M_PER_DEG_LAT;

describe.each(['postgres', 'pglite'] as const)('engine state in the database, on %s', (backend) => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  const log = pino({ level: 'silent' });
  const deps = (): GatewayDeps => ({
    database: t.database,
    mqttUrl: broker.url,
    logger: log,
  });
  const restart = async () => {
    await gateway.close();
    gateway = await startGateway(deps());
    await gateway.ready;
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase(backend);
    gateway = await startGateway(deps());
    await gateway.ready;
  });
  afterAll(async () => {
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
  });

  /** A 100 m exclusion zone at HOME, confirmed by 3 fixes (or 10 min with 2). */
  async function exclusionZone(db: Kysely<DB>, subject: SeededDevice) {
    const zone = await db
      .insertInto('zones')
      .values({
        name: '被害人住所 / victim home',
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry: JSON.stringify({ type: 'Circle', center: HOME, radiusM: 100 }),
        min_lon: HOME[0] - 0.01,
        min_lat: HOME[1] - 0.01,
        max_lon: HOME[0] + 0.01,
        max_lat: HOME[1] + 0.01,
        buffer_m: 10,
        confirm_fixes: 3,
        confirm_seconds: 600,
        jurisdiction_code: TOWNSHIP,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('zone_assignments')
      .values({ subject_id: subject.subjectId, zone_id: zone.id })
      .execute();
    await new Promise((r) => setTimeout(r, 1000)); // NOTIFY ccm_config → reload
    return zone.id;
  }

  const row = (subjectNo: number) =>
    t.database.db
      .selectFrom('engine_state')
      .select(['state', 'progress', 'version'])
      .where('subject_no', '=', subjectNo)
      .executeTakeFirstOrThrow();
  const alertsOf = (subjectId: string) =>
    t.database.db
      .selectFrom('alerts')
      .select(['type', 'started_at', 'ended_at'])
      .where('subject_id', '=', subjectId)
      .where('type', '=', 'zone_enter')
      .orderBy('started_at')
      .execute();
  /** GNSS fixes 20 s apart at these distances north of HOME (m), ending now. */
  const walk = (metres: number[], endMs = Date.now()) =>
    metres.map((m, i) => ({
      t: endMs - (metres.length - 1 - i) * 20_000,
      lat: north(m),
      lon: HOME[0],
      acc: 5,
      src: 'gnss' as const,
    }));
  async function send(device: DeviceClient, fixes: ReturnType<typeof walk>) {
    let last = 0;
    for (const f of fixes) last = device.sendFixes([f]);
    await device.waitAcked(last, 30_000);
  }

  it('stores the decision state without the window, and rewrites it only when it changes', async () => {
    const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-es-1' });
    await exclusionZone(t.database.db, subject);
    const device = new DeviceClient({ url: broker.url, deviceId: 'wb-es-1' });
    await device.connect();
    try {
      const fixes = walk([900, 880, 860, 840, 820, 800]);
      await send(device, fixes.slice(0, 3));
      const first = await row(subject.subjectNo);
      expect(first.state).toMatchObject({ kind: 'decision', tracks: {}, alerts: [] });
      expect(first.state).not.toHaveProperty('window');
      expect(first.progress).toMatchObject({ lastFixTimeMs: fixes[2]!.t });
      // Walking about far from the zone: progress and version move, the decision does not.
      await send(device, fixes.slice(3));
      const second = await row(subject.subjectNo);
      expect(second.state).toEqual(first.state);
      expect(second.version).toBeGreaterThan(first.version);
      expect(second.progress).toMatchObject({ lastFixTimeMs: fixes[5]!.t });
      // What a restarted gateway loads: the window from `fixes`, the anchor replayed.
      await gateway.close();
      const loaded = (
        await loadEngineStates(
          t.database.db,
          [{ no: subject.subjectNo, id: subject.subjectId }],
          log,
        )
      ).get(subject.subjectNo)!;
      expect(loaded.version).toBe(second.version);
      expect(loaded.state.window.toArray().map((f) => f[0])).toEqual(fixes.map((f) => f.t));
      expect(loaded.state.head.anchor?.[0]).toBe(fixes[5]!.t);
      expect(loaded.state.contact.lastFixTimeMs).toBe(fixes[5]!.t);
    } finally {
      gateway = await startGateway(deps());
      await gateway.ready;
      await device.close();
    }
  });

  it('a restart mid-confirmation keeps the evidence: one alert, started at the first fix inside', async () => {
    const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-es-2' });
    await exclusionZone(t.database.db, subject);
    const device = new DeviceClient({ url: broker.url, deviceId: 'wb-es-2' });
    await device.connect();
    try {
      const fixes = walk([500, 300, 0, 0, 0, 0]);
      await send(device, fixes.slice(0, 4)); // two fixes inside: pending, no alert
      expect(await alertsOf(subject.subjectId)).toEqual([]);
      const stored = await row(subject.subjectNo);
      const track = Object.values((stored.state as { tracks: object }).tracks)[0] as {
        status: string;
        pending: { count: number };
      };
      expect(track).toMatchObject({ status: 'compliant', pending: { count: 2 } });

      await restart();
      // The second inside fix again (a device re-send, same fix time): a duplicate, since the
      // window came back from `fixes`; it must not count as the third confirming fix.
      await send(device, [fixes[3]!]);
      expect(await alertsOf(subject.subjectId)).toEqual([]);
      await send(device, fixes.slice(4, 5)); // the real third fix
      const alerts = await alertsOf(subject.subjectId);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.started_at.getTime()).toBe(fixes[2]!.t);

      await restart(); // open now: neither forgotten nor raised again
      await send(device, [fixes[5]!, ...walk([300, 500, 500, 500], fixes[5]!.t + 80_000)]);
      const after = await alertsOf(subject.subjectId);
      expect(after).toHaveLength(1);
      expect(after[0]!.ended_at).not.toBeNull();
    } finally {
      await device.close();
    }
  });

  it('reads a whole state written before 0010 and writes it back as decisions', async () => {
    const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-es-3' });
    const zoneId = await exclusionZone(t.database.db, subject);
    // An old gateway's row: a whole state with the window, mid-violation, no progress.
    const zones = zonesForSubject(
      compileZones([
        {
          id: zoneId,
          kind: 'exclusion',
          purpose: 'prohibited',
          geometry: { type: 'Circle', center: HOME, radiusM: 100 },
          rules: { bufferM: 10, confirmFixes: 3, confirmSeconds: 600 },
        },
      ]),
      'all',
    );
    const old = walk([500, 0, 0, 0], Date.now() - 60_000).map((f): FixInput => ({
      fixTimeMs: f.t,
      lat: f.lat,
      lon: f.lon,
      accuracyM: f.acc,
      source: 'gnss',
      receivedAtMs: f.t + 1000,
    }));
    const { state, alerts } = processBatch(
      createSubjectState(subject.subjectId),
      { deviceId: 'wb-es-3', fixes: old, nowMs: Date.now() - 50_000 },
      zones,
    );
    expect(alerts.map((a) => a.action)).toEqual(['open']);
    await t.database.db
      .insertInto('engine_state')
      .values({ subject_no: subject.subjectNo, state: JSON.stringify(state), version: 1 })
      .execute();
    const device = new DeviceClient({ url: broker.url, deviceId: 'wb-es-3' });
    await device.connect();
    try {
      await send(device, walk([0]));
      const stored = await row(subject.subjectNo);
      expect(stored.state).toMatchObject({ kind: 'decision' });
      expect(stored.progress).not.toBeNull();
      // Still inside: the violation stays open and is not raised again (no new alert row).
      const decision = stored.state as { alerts: { key: string; endedAtMs: number | null }[] };
      expect(decision.alerts).toEqual([
        expect.objectContaining({ key: alerts[0]!.key, endedAtMs: null }),
      ]);
      expect(await alertsOf(subject.subjectId)).toEqual([]);
    } finally {
      await device.close();
    }
  });
});

describe('the silence check stores nothing when nothing but its clock changed', () => {
  it('leaves a device that never reported without an engine_state row', async () => {
    const broker = await startMosquitto();
    const t = await openTestDatabase('postgres');
    const gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
      options: { silenceIntervalMs: 200 },
    });
    try {
      await gateway.ready;
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-es-quiet' });
      // A candidate on every tick (no device_state yet), but not silent: no alert, no write.
      await new Promise((r) => setTimeout(r, 1500));
      const rows = await t.database.db
        .selectFrom('engine_state')
        .select('version')
        .where('subject_no', '=', subject.subjectNo)
        .execute();
      expect(rows).toEqual([]);
    } finally {
      await gateway.close();
      await t.dispose();
      await broker.stop();
    }
  });
});
