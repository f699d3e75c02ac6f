import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  queueCommand,
  startCommandDispatcher,
  startGateway,
  type CommandDispatcher,
  type Gateway,
} from '@ccm/device-gateway';
import {
  openTestDatabase,
  startMosquitto,
  waitFor,
  type MosquittoProcess,
  type TestDatabase,
} from '@ccm/test-support';
import { seedDemo, startFleet, type DemoDevice, type Fleet, type SeedDemoResult } from '../src';

/** A small fleet against the real broker, gateway and database, for a few seconds. */
describe('the device fleet', () => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  let platform: mqtt.MqttClient;
  let dispatcher: CommandDispatcher;
  let seed: SeedDemoResult;
  let dataDir: string;
  const fleets: Fleet[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase('postgres');
    dataDir = mkdtempSync(join(tmpdir(), 'ccm-fleet-'));
    seed = await seedDemo(t.database.db, {
      dataDir,
      demoPassword: 'demo-password-for-tests',
      subjects: 8,
    });
    gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
    });
    await gateway.ready;
    platform = await mqtt.connectAsync(broker.url, { clientId: 'ccm-platform-fleet-test' });
    dispatcher = startCommandDispatcher(t.database.db, platform, { intervalMs: 200 });
  });
  afterAll(async () => {
    for (const f of fleets) await f.stop();
    dispatcher?.close();
    await platform?.endAsync();
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const withTerminals = (ids: string[]): DemoDevice[] => {
    const wristbands = seed.wristbands.filter((w) => ids.includes(w.deviceId));
    const offices = new Set(wristbands.map((w) => w.officeCode));
    return [...wristbands, ...seed.terminals.filter((x) => offices.has(x.officeCode))];
  };

  const storedFixes = (deviceIds: string[]) =>
    t.database.db
      .selectFrom('fixes')
      .innerJoin('devices', 'devices.no', 'fixes.device_no')
      .select(['devices.id', 'fixes.t', 'fixes.recv_lag_ms', 'fixes.src'])
      .where('devices.id', 'in', deviceIds)
      .execute();

  it('fixes are stored and acknowledged; commands are obeyed and answered', async () => {
    const ids = seed.wristbands.slice(0, 5).map((w) => w.deviceId);
    const devices = withTerminals(ids);
    const fleet = await startFleet({
      mqttUrl: broker.url,
      devices,
      intervalS: 1,
      heartbeatS: 2,
      coverageGaps: false,
    });
    fleets.push(fleet);
    expect(await fleet.connected(15_000)).toBe(true);
    expect(fleet.stats()).toMatchObject({ devices: devices.length, connected: devices.length });

    // Every wristband's fixes arrive, stamped no later than they were received.
    await waitFor(
      async () => {
        const fixes = await storedFixes(ids);
        return ids.every((id) => fixes.filter((f) => f.id === id).length >= 3);
      },
      20_000,
      'three stored fixes per wristband',
    );

    // set_interval: the band answers `done` and reports every 5 s from then on.
    const target = fleet.device(ids[0]!)!;
    const commandId = await queueCommand(t.database.db, {
      deviceId: ids[0]!,
      type: 'set_interval',
      params: { seconds: 5 },
      ttlMs: 60_000,
      createdBy: null,
    });
    await waitFor(
      async () =>
        (
          await t.database.db
            .selectFrom('device_commands')
            .select('status')
            .where('id', '=', commandId)
            .executeTakeFirstOrThrow()
        ).status === 'done',
      15_000,
      'set_interval answered',
    );
    expect(target.kind === 'wristband' && target.intervalS).toBe(5);

    // Everything sent is acknowledged (the device drops it) and stored exactly once.
    await waitFor(() => fleet.stats().unacked === 0, 20_000, 'all messages acked');
    const stats = fleet.stats();
    const fixes = await storedFixes(ids);
    expect(fixes).toHaveLength(stats.fixes);
    expect(fixes.every((f) => f.recv_lag_ms >= 0)).toBe(true);
    expect(new Set(fixes.map((f) => f.src)).size).toBeGreaterThanOrEqual(1);
    const heartbeats = await t.database.db
      .selectFrom('heartbeats')
      .innerJoin('devices', 'devices.no', 'heartbeats.device_no')
      .select(['devices.kind'])
      .where(
        'devices.id',
        'in',
        devices.map((d) => d.deviceId),
      )
      .execute();
    expect(new Set(heartbeats.map((h) => h.kind))).toEqual(new Set(['wristband', 'terminal']));
    const state = await t.database.db
      .selectFrom('device_state')
      .innerJoin('devices', 'devices.no', 'device_state.device_no')
      .select(['devices.id', 'device_state.online', 'device_state.battery'])
      .where('devices.id', 'in', ids)
      .execute();
    expect(state).toHaveLength(ids.length);
    expect(state.every((s) => s.online && (s.battery ?? 0) > 30)).toBe(true);
    // An ordinary day raises nothing.
    expect(await t.database.db.selectFrom('alerts').select('id').execute()).toEqual([]);
    await fleet.stop();
  });

  it('speed > 1 in backfill mode replays the recent past: fix times never pass the real clock', async () => {
    const ids = seed.wristbands.slice(5, 8).map((w) => w.deviceId);
    const startedAt = Date.now();
    const fleet = await startFleet({
      mqttUrl: broker.url,
      devices: seed.wristbands.filter((w) => ids.includes(w.deviceId)),
      speed: 30,
      timeMode: 'backfill',
      backfillMs: 3 * 60_000,
      intervalS: 10,
      coverageGaps: false,
    });
    fleets.push(fleet);
    // Three minutes replayed at 30× catch up with now in about six seconds.
    await waitFor(() => !fleet.clock.behind, 20_000, 'the device clock to meet real time');
    await waitFor(() => fleet.stats().unacked === 0, 20_000, 'all messages acked');
    const fixes = await storedFixes(ids);
    const times = fixes.map((f) => f.t.getTime());
    expect(Math.min(...times)).toBeLessThan(startedAt - 150_000);
    expect(fixes.every((f) => f.recv_lag_ms >= 0)).toBe(true);
    const quarantined = await t.database.db.selectFrom('quarantined_fixes').select('id').execute();
    expect(quarantined).toEqual([]);
    // About one fix per device per 10 s of device time.
    expect(fixes.length).toBeGreaterThanOrEqual(ids.length * 15);
    await fleet.stop();
  });
});
