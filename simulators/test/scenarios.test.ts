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
  waitFor,
  type MosquittoProcess,
  type TestDatabase,
} from '@ccm/test-support';
import {
  runScenario,
  seedDemo,
  type ScenarioContext,
  type ScenarioName,
  type ScenarioRun,
  type SeedDemoResult,
} from '../src';
// The server owns the supervision rules; the server depends on the simulators, so this test
// reaches them by path rather than by a package import that would make a cycle.
import { SupervisionWorker } from '../../server/src/supervision/worker';

/**
 * Every scenario end to end: simulated device → Mosquitto → the real gateway and rules
 * engine → PostgreSQL. Each must leave exactly its expected alerts on its subject, and at
 * the end the database must hold those alerts and nothing else.
 */
describe('scenarios produce exactly the alert an officer should see', () => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  let platform: mqtt.MqttClient;
  let dispatcher: CommandDispatcher;
  let supervision: SupervisionWorker;
  let unlisten: () => Promise<void>;
  let seed: SeedDemoResult;
  let dataDir: string;
  const runs: ScenarioRun[] = [];
  const used = new Set<string>();

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase('postgres');
    dataDir = mkdtempSync(join(tmpdir(), 'ccm-sim-'));
    seed = await seedDemo(t.database.db, {
      dataDir,
      demoPassword: 'demo-password-for-tests',
      subjects: 36,
    });
    // Short silence timings so no_signal needs seconds: threshold = interval + 2 s.
    gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
      options: { silenceIntervalMs: 300 },
      rulesOptions: { silenceGraceS: 2 },
    });
    await gateway.ready;
    // The server's supervision rules (check-in review …), kicked by the gateway's NOTIFY as
    // the platform does.
    supervision = new SupervisionWorker(t.database.db, pino({ level: 'silent' }), {
      intervalS: 60,
      random: () => 1,
    });
    unlisten = await t.database.listen('ccm_checkin', () => supervision.kick());
    platform = await mqtt.connectAsync(broker.url, { clientId: 'ccm-platform-sim-test' });
    dispatcher = startCommandDispatcher(t.database.db, platform, { intervalMs: 200 });
  });

  afterAll(async () => {
    await unlisten?.();
    await supervision?.stop();
    for (const run of runs) await run.stop();
    dispatcher?.close();
    await platform?.endAsync();
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const ctx = (extra: Partial<ScenarioContext> = {}): ScenarioContext => ({
    mqttUrl: broker.url,
    manifest: seed.manifest,
    exclude: used,
    // A 20 s reporting interval keeps each scenario to seconds; everything else is the
    // contract's and the engine's defaults.
    intervalS: 20,
    // Devices stay connected and heartbeat after their scenario, as real ones would, so
    // none goes silent (the platform threshold here is 60 s + 2 s).
    keepAliveMs: 2000,
    silenceThresholdMs: 62_000,
    timing: {
      tamperMs: 1000,
      powerOffMs: 1500,
      silenceMs: 10_000,
      lateByMs: 150_000,
      dwellMs: 0,
      floodMessages: 1500,
    },
    ...extra,
  });

  async function play(name: ScenarioName, extra: Partial<ScenarioContext> = {}) {
    const run = await runScenario(name, ctx(extra));
    used.add(run.deviceId);
    // Later scenarios pick another subject, so each subject's alerts are one scenario's.
    used.add(run.wristbandId);
    runs.push(run);
    return run;
  }

  const alertsOf = (subjectId: string) =>
    t.database.db
      .selectFrom('alerts')
      .select(['type', 'late', 'late_by_ms', 'zone_id', 'ended_at', 'device_id'])
      .where('subject_id', '=', subjectId)
      .orderBy('started_at')
      .execute();

  /** The alerts of the run's subject equal its expectation (type, late, zone), no more. */
  async function expectExactly(run: ScenarioRun) {
    // Alerts are committed with the batch that is acked; one more silence tick for luck.
    await new Promise((r) => setTimeout(r, 700));
    const alerts = await alertsOf(run.subjectId);
    expect(alerts.map((a) => a.type).sort()).toEqual(run.expected.map((e) => e.type).sort());
    for (const e of run.expected) {
      const a = alerts.find((x) => x.type === e.type)!;
      if (e.late !== undefined)
        expect({ type: a.type, late: a.late }).toEqual({ type: e.type, late: e.late });
      if (e.zoneId !== undefined) expect(a.zone_id).toBe(e.zoneId);
    }
    return alerts;
  }

  it('leave_county: 越界 raises zone_exit on the county zone, not late; the band is warned', async () => {
    const run = await play('leave_county');
    expect(run.expected).toEqual([{ type: 'zone_exit', late: false, zoneId: expect.any(String) }]);
    await expectExactly(run);
    // The platform warned the wearer and asked for 15 s reports; the band answered both.
    await waitFor(
      async () => {
        const commands = await t.database.db
          .selectFrom('device_commands')
          .select(['type', 'status'])
          .where('device_id', '=', run.deviceId)
          .execute();
        return commands.length === 2 && commands.every((c) => c.status === 'done');
      },
      15_000,
      'warn and set_interval answered with done',
    );
  });

  it('enter_exclusion raises zone_enter on that exclusion zone, not late', async () => {
    const run = await play('enter_exclusion');
    expect(run.expected[0]).toMatchObject({ type: 'zone_enter', late: false });
    await expectExactly(run);
  });

  it('curfew_breach (夜不归宿) raises curfew: live in the window, late from a backlog outside it', async () => {
    const run = await play('curfew_breach');
    expect(run.expected).toHaveLength(1);
    expect(run.expected[0]!.type).toBe('curfew');
    const [alert] = await expectExactly(run);
    if (run.expected[0]!.late) expect(alert!.late_by_ms).toBeGreaterThan(120_000);
  });

  it('strap_tamper raises strap_tamper, ended when the strap is closed', async () => {
    const run = await play('strap_tamper');
    const [alert] = await expectExactly(run);
    expect(alert!.ended_at).not.toBeNull();
  });

  it('battery_power_off raises battery_critical then power_off, both ended after power-on and charging', async () => {
    const run = await play('battery_power_off');
    expect(run.expected.map((e) => e.type)).toEqual(['battery_critical', 'power_off']);
    const alerts = await expectExactly(run);
    expect(alerts.every((a) => a.ended_at !== null)).toBe(true);
  });

  it('no_signal: a device silent longer than its interval plus grace raises no_signal, ended on return', async () => {
    // The platform side of the threshold: this subject reports every 5 s (5 s + 2 s grace).
    const target = seed.wristbands.find(
      (w) => !used.has(w.deviceId) && !w.curfewZoneId && w.exclusionZoneIds.length === 0,
    )!;
    await t.database.db
      .updateTable('subjects')
      .set({ report_interval_s: 5 })
      .where('id', '=', target.subjectId)
      .execute();
    // …and so does its band.
    const run = await play('no_signal', { target: target.deviceId, intervalS: 5 });
    await expect
      .poll(async () => (await alertsOf(run.subjectId)).map((a) => [a.type, a.ended_at !== null]), {
        timeout: 10_000,
      })
      .toEqual([['no_signal', true]]);
    await expectExactly(run);
  });

  it('gps_drift_edge: fixes drifting across the county edge raise nothing', async () => {
    const run = await play('gps_drift_edge');
    expect(run.expected).toEqual([]);
    const fixes = await t.database.db
      .selectFrom('fixes')
      .innerJoin('subjects', 'subjects.no', 'fixes.subject_no')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('subjects.id', '=', run.subjectId)
      .executeTakeFirstOrThrow();
    expect(Number(fixes.n)).toBeGreaterThanOrEqual(10); // the drift was stored, just not alerted
    await expectExactly(run);
  });

  it('late_violation: a violation uploaded after a coverage gap is raised late, with how late', async () => {
    const run = await play('late_violation');
    expect(run.expected).toEqual([{ type: 'zone_enter', late: true, zoneId: expect.any(String) }]);
    const [alert] = await expectExactly(run);
    expect(alert!.late_by_ms).toBeGreaterThan(120_000);
  });

  it('checkin_failed: a failed fingerprint and a face spoof are two checkin_failed alerts', async () => {
    const run = await play('checkin_failed');
    expect(run.expected).toEqual([{ type: 'checkin_failed' }, { type: 'checkin_failed' }]);
    await waitFor(
      async () => (await alertsOf(run.subjectId)).length >= 2,
      15_000,
      'checkin_failed alerts',
    );
    const checkins = await t.database.db
      .selectFrom('checkins')
      .select(['method', 'result', 'liveness'])
      .where('subject_ref', '=', run.subjectId)
      .orderBy('t')
      .execute();
    expect(checkins).toEqual([
      { method: 'fingerprint', result: 'no_match', liveness: true },
      { method: 'face', result: 'spoof_suspected', liveness: false },
    ]);
    await expectExactly(run);
  });

  it('message_flood: thousands of messages raise no alert; the gateway records a flood', async () => {
    const run = await play('message_flood');
    expect(run.expectedSecurity).toEqual(['flood']);
    await waitFor(
      async () =>
        (
          await t.database.db
            .selectFrom('security_events')
            .select('id')
            .where('kind', '=', 'flood')
            .where('client_id', '=', run.deviceId)
            .execute()
        ).length > 0,
      15_000,
      'a flood security event',
    );
    await expectExactly(run);
  });

  it('and nothing else: every alert in the database is one some scenario expected', async () => {
    expect(runs).toHaveLength(10);
    const all = await t.database.db.selectFrom('alerts').select(['subject_id', 'type']).execute();
    const expected = runs.flatMap((r) => r.expected.map((e) => `${r.subjectId} ${e.type}`)).sort();
    expect(all.map((a) => `${a.subject_id} ${a.type}`).sort()).toEqual(expected);
  });
});
