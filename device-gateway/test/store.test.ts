import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIX_SOURCES } from '@ccm/contracts';
import { sql } from 'kysely';
import { createSubjectState, decisionOf, progressOf, type AlertEvent } from '@ccm/geofence';
import {
  openTestDatabase,
  seedMonitoredDevice,
  TOWNSHIP,
  type SeededDevice,
  type TestDatabase,
} from '@ccm/test-support';
import { loadEngineStates } from '../src/engine-state';
import { emptyPlan, type BatchPlan } from '../src/plan';
import type { EngineOutcome } from '../src/rules';
import { booleans, numbers } from '../src/sql-arrays';
import { persistPlan } from '../src/store';

/** The array literals the batch insert sends instead of letting pg quote every element. */
describe('array literals for the batch insert', () => {
  it('writes numbers, negatives, large int8 values and NULLs as PostgreSQL reads them', () => {
    const rows = [{ v: 1 }, { v: -22_817_012 }, { v: null }, { v: 1_795_752_000_123 }, { v: 0 }];
    expect(numbers(rows, (r) => r.v)).toBe('{1,-22817012,NULL,1795752000123,0}');
    expect(numbers([], (r: { v: number }) => r.v)).toBe('{}');
  });

  it('writes booleans as t / f / NULL', () => {
    expect(booleans([true, false, null], (b) => b)).toBe('{t,f,NULL}');
  });
});

/**
 * The batch statement (fixes, events, heartbeats and device_state as data-modifying CTEs)
 * and the engine's window read, on every backend: TimescaleDB's hypertables included.
 */
const T = Date.parse('2026-11-28T06:00:00Z');
describe.each(['postgres', 'pglite', 'pglite-timescaledb'] as const)(
  'one batch statement and the window read on %s',
  (backend) => {
    let t: TestDatabase;
    let device: SeededDevice;
    beforeAll(async () => {
      t = await openTestDatabase(backend);
      device = await seedMonitoredDevice(t.database.db, {
        deviceId: 'wb-store-1',
        order: { startsAt: new Date(T - 86_400_000), endsAt: new Date(T + 86_400_000) },
      });
    });
    afterAll(async () => {
      await t?.dispose();
    });

    const plan = (first: number, n: number): BatchPlan => {
      const p = emptyPlan();
      for (let i = first; i < first + n; i++) {
        p.fixes.push({
          deviceNo: device.deviceNo,
          tMs: T + i * 60_000,
          subjectNo: device.subjectNo,
          latE6: 22_817_012 + i,
          lonE6: 108_366_543,
          accDm: 65,
          src: i % 2,
          spdCms: i % 3 === 0 ? null : 120,
          hdgDeg: null,
          sat: 9,
          flags: 0,
          recvLagMs: 1500,
        });
      }
      p.events.push({
        deviceNo: device.deviceNo,
        tMs: T + first * 60_000,
        type: 'battery_low',
        subjectNo: device.subjectNo,
        seq: first,
        known: true,
        bat: 15,
        latE6: null,
        lonE6: null,
        receivedAtMs: T + first * 60_000 + 1000,
      });
      p.heartbeats.push({
        deviceNo: device.deviceNo,
        tMs: T + first * 60_000,
        seq: first + 1,
        bat: 15,
        chg: false,
        rssi: -70,
        fw: '1.0.0',
        receivedAtMs: T + first * 60_000 + 1000,
      });
      const last = p.fixes[p.fixes.length - 1]!;
      p.devices.set(device.deviceNo, {
        deviceNo: device.deviceNo,
        lastSeenMs: last.tMs + 1500,
        lastSeq: first + n,
        ackedSeq: first + n,
        above: [],
        stuckSinceMs: null,
        seqGaps: 0,
        battery: 15,
        batteryAtMs: last.tMs,
        charging: false,
        rssi: -70,
        firmware: '1.0.0',
        online: null,
        latest: { tMs: last.tMs, latE6: last.latE6, lonE6: last.lonE6, accDm: 65, src: last.src },
      });
      return p;
    };

    it('stores every part, ignores duplicates, and reads the window back', async () => {
      expect((await persistPlan(t.database.db, plan(0, 5))).fixesInserted).toBe(5);
      const again = await persistPlan(t.database.db, plan(3, 5)); // 3 and 4 again
      expect(again).toMatchObject({ fixesInserted: 3, fixesDuplicate: 2 });
      const db = t.database.db;
      const count = async (table: 'fixes' | 'device_events' | 'heartbeats') =>
        Number(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll().as('n'))
              .where('device_no', '=', device.deviceNo)
              .executeTakeFirstOrThrow()
          ).n,
        );
      expect(await count('fixes')).toBe(8);
      expect(await count('device_events')).toBe(2);
      expect(await count('heartbeats')).toBe(2);
      const state = await db
        .selectFrom('device_state')
        .select(['last_fix_t', 'acked_seq', 'battery'])
        .where('device_no', '=', device.deviceNo)
        .executeTakeFirstOrThrow();
      expect(state).toEqual({ last_fix_t: new Date(T + 7 * 60_000), acked_seq: 8, battery: 15 });

      // A decision state with no base yet: its window is every stored fix of the subject.
      const fresh = createSubjectState(device.subjectId);
      const progress = { ...progressOf(fresh), lastFixTimeMs: T + 7 * 60_000 };
      await db
        .insertInto('engine_state')
        .values({
          subject_no: device.subjectNo,
          state: JSON.stringify(decisionOf(fresh)),
          progress: JSON.stringify(progress),
          version: 1,
        })
        .execute();
      const loaded = await loadEngineStates(
        db,
        [{ no: device.subjectNo, id: device.subjectId }],
        pino({ level: 'silent' }),
      );
      const window = loaded.get(device.subjectNo)!.state.window.toArray();
      expect(window.map((f) => f[0])).toEqual(Array.from({ length: 8 }, (_, i) => T + i * 60_000));
      // The source as its index in the contract's list (the engine's packed form).
      const lbs = FIX_SOURCES.indexOf('lbs');
      expect(window[1]).toEqual([T + 60_000, 22.817013, 108.366543, 6.5, lbs, T + 61_500]);
    });
  },
);

/**
 * The engine's outcomes as the batch writes them (rules.ts persistEngine): alert changes with
 * their history, outbox rows and NOTIFY, and the engine's device commands, in one or two
 * statements per round.
 */
describe.each(['postgres', 'pglite'] as const)('the engine outcome statements on %s', (backend) => {
  let t: TestDatabase;
  let device: SeededDevice;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
    device = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-store-2' });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const evidence: AlertEvent['evidence'] = {
    kind: 'fixes',
    fixes: [],
    count: 2,
    confirmFixes: 2,
    confirmSeconds: 60,
    bufferM: 10,
  };
  const event = (action: AlertEvent['action'], key: string, startS: number, endS?: number) =>
    ({
      action,
      key,
      type: 'zone_exit',
      severity: 'high',
      subjectId: device.subjectId,
      deviceId: device.deviceId,
      zoneId: null,
      startedAtMs: T + startS * 1000,
      endedAtMs: endS === undefined ? null : T + endS * 1000,
      late: false,
      lateByMs: 0,
      lat: 22.8,
      lon: 108.3,
      evidence,
      authorisedBy: null,
    }) satisfies AlertEvent;
  /** A batch with only the engine's outcome for the device's subject. */
  const outcome = (alerts: AlertEvent[], commands: EngineOutcome['commands'] = []) => {
    const p = emptyPlan();
    p.engine.push({
      subjectNo: device.subjectNo,
      subjectId: device.subjectId,
      jurisdictionCode: TOWNSHIP,
      state: createSubjectState(device.subjectId),
      alerts,
      commands,
    });
    return p;
  };
  const historyOf = (alertId: string) =>
    t.database.db
      .selectFrom('alert_events')
      .select(['action', 'note', 'actor_id'])
      .where('alert_id', '=', alertId)
      .orderBy('id')
      .execute();
  const outboxOf = (alertId: string) =>
    t.database.db
      .selectFrom('outbox')
      .select(['topic', 'payload'])
      .where(sql<boolean>`payload->>'alertId' = ${alertId}`)
      .orderBy('id')
      .execute();

  it('opens an alert with its history, outbox row and commands; a retraction withdraws it', async () => {
    const db = t.database.db;
    const notified: (string | null)[] = [];
    const unlisten = await t.database.listen('ccm_outbox', (payload) => notified.push(payload));
    const opened = await persistPlan(
      db,
      outcome(
        [event('open', 'k-1', 0)],
        [
          {
            deviceId: device.deviceId,
            command: { type: 'warn', params: { text: '请返回 / please return', vibrate: true } },
          },
          { deviceId: device.deviceId, command: { type: 'set_interval', params: { seconds: 15 } } },
        ],
      ),
    );
    expect(opened.engineError).toBeUndefined();
    expect(opened.alerts.map((c) => c.action)).toEqual(['open']);
    const alertId = opened.alerts[0]!.alertId;
    const row = await db
      .selectFrom('alerts')
      .selectAll()
      .where('id', '=', alertId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      type: 'zone_exit',
      status: 'open',
      resolution: null,
      engine_key: 'k-1',
      device_id: device.deviceId,
      jurisdiction_code: TOWNSHIP,
      started_at: new Date(T),
      ended_at: null,
      evidence,
    });
    expect(await historyOf(alertId)).toEqual([{ action: 'raised', note: null, actor_id: null }]);
    // The live stream is woken at commit.
    await expect.poll(() => notified).toEqual(['1']);
    await unlisten();
    const payload = {
      alertId,
      jurisdictionCode: TOWNSHIP,
      subjectId: device.subjectId,
    };
    expect(await outboxOf(alertId)).toEqual([
      { topic: 'alert', payload: { ...payload, action: 'open' } },
    ]);
    const commands = await db
      .selectFrom('device_commands')
      .select(['type', 'params', 'status'])
      .where('device_id', '=', device.deviceId)
      .orderBy('created_at')
      .orderBy('type', 'desc')
      .execute();
    expect(commands).toEqual([
      {
        type: 'warn',
        params: { text: '请返回 / please return', vibrate: true },
        status: 'pending',
      },
      { type: 'set_interval', params: { seconds: 15 }, status: 'pending' },
    ]);

    const retracted = await persistPlan(db, outcome([event('retract', 'k-1', 0)]));
    expect(retracted.alerts).toEqual([expect.objectContaining({ alertId, action: 'retract' })]);
    const after = await db
      .selectFrom('alerts')
      .select(['status', 'resolution', 'ended_at'])
      .where('id', '=', alertId)
      .executeTakeFirstOrThrow();
    expect(after).toEqual({ status: 'resolved', resolution: 'withdrawn', ended_at: new Date(T) });
    const history = await historyOf(alertId);
    expect(history.map((h) => h.action)).toEqual(['raised', 'withdrawn']);
    expect(history[1]!.note).toContain('系统已撤回');
    expect(await outboxOf(alertId)).toEqual([
      { topic: 'alert', payload: { ...payload, action: 'open' } },
      { topic: 'alert_update', payload: { ...payload, action: 'retract' } },
    ]);
  });

  it('an episode that ends and a new one of the same violation in one batch: two rounds, in order', async () => {
    const db = t.database.db;
    const first = await persistPlan(db, outcome([event('open', 'k-2', 100)]));
    const firstId = first.alerts[0]!.alertId;
    // End, then a new episode of the same subject/type/zone: one open violation at a time.
    const stored = await persistPlan(
      db,
      outcome([
        event('end', 'k-2', 100, 160),
        event('open', 'k-3', 200),
        event('update', 'k-3', 190),
      ]),
    );
    expect(stored.engineError).toBeUndefined();
    expect(stored.alerts.map((c) => c.action)).toEqual(['end', 'open', 'update']);
    const secondId = stored.alerts[1]!.alertId;
    expect(stored.alerts[2]!.alertId).toBe(secondId);
    const rows = await db
      .selectFrom('alerts')
      .select(['id', 'started_at', 'ended_at'])
      .where('engine_key', 'in', ['k-2', 'k-3'])
      .orderBy('started_at')
      .execute();
    expect(rows).toEqual([
      { id: firstId, started_at: new Date(T + 100_000), ended_at: new Date(T + 160_000) },
      { id: secondId, started_at: new Date(T + 190_000), ended_at: null },
    ]);
    expect((await historyOf(firstId)).map((h) => h.action)).toEqual(['raised', 'ended']);
    expect((await historyOf(secondId)).map((h) => h.action)).toEqual(['raised', 'updated']);
    expect((await outboxOf(secondId)).map((o) => o.topic)).toEqual(['alert', 'alert_update']);
  });
});
