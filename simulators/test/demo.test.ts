import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCommandDispatcher,
  startGateway,
  type CommandDispatcher,
  type Gateway,
} from '@ccm/device-gateway';
import {
  openTestDatabase,
  startMosquitto,
  type MosquittoProcess,
  type TestDatabase,
} from '@ccm/test-support';
import { startDemo, type Demo } from '../src';

/** What `npm start` runs with CCM_SIMULATOR on: seed, a small fleet, scenarios on it (live). */
describe('startDemo', () => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  let platform: mqtt.MqttClient;
  let dispatcher: CommandDispatcher;
  let demo: Demo;
  let dataDir: string;

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase('postgres');
    gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
    });
    await gateway.ready;
    platform = await mqtt.connectAsync(broker.url, { clientId: 'ccm-platform-demo-test' });
    dispatcher = startCommandDispatcher(t.database.db, platform, { intervalMs: 200 });
    dataDir = mkdtempSync(join(tmpdir(), 'ccm-demo-'));
    demo = await startDemo({
      database: t.database,
      mqttUrl: broker.url,
      dataDir,
      demoPassword: 'demo-password-for-tests',
      fleetSize: 4,
      subjects: 12,
      intervalS: 5,
      scenarioEveryMs: 0,
      timing: { tamperMs: 1500 },
    });
  });
  afterAll(async () => {
    await demo?.stop();
    dispatcher?.close();
    await platform?.endAsync();
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('seeds, runs the fleet, and lists the accounts to sign in with', async () => {
    expect(demo.logins.map((l) => l.role)).toEqual(
      expect.arrayContaining(['bureau', 'officer', 'police', 'auditor']),
    );
    expect(demo.logins.every((l) => /^450\d{3}(\d{3})?$/.test(l.jurisdiction))).toBe(true);
    expect(await demo.fleet.connected(15_000)).toBe(true);
    // 4 wristbands and the terminals of their 4 offices.
    expect(demo.fleet.size).toBe(8);
  });

  it('a scenario takes over a running wristband live, raises its alert, and hands it back', async () => {
    // Let the fleet report for a moment first: the device has a history up to now.
    await expect
      .poll(() => demo.fleet.wristbands().every((w) => w.lastFixMs !== null), { timeout: 15_000 })
      .toBe(true);
    const run = await demo.runScenario('strap_tamper');
    expect(run.mode).toBe('live');
    const alerts = await t.database.db
      .selectFrom('alerts')
      .select(['type', 'late', 'ended_at', 'device_id'])
      .execute();
    expect(alerts).toEqual([
      { type: 'strap_tamper', late: false, ended_at: expect.any(Date), device_id: run.deviceId },
    ]);
    const band = demo.fleet.device(run.deviceId)!;
    expect(band.kind === 'wristband' && band.held).toBe(false);
    // Back to its routine: it keeps reporting after the scenario.
    const before = band.kind === 'wristband' ? band.counters.fixes : 0;
    await expect
      .poll(() => (band.kind === 'wristband' ? band.counters.fixes : 0), { timeout: 15_000 })
      .toBeGreaterThan(before);
  });
});
