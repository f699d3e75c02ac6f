import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIX_SOURCES } from '@ccm/contracts';
import { createSubjectState, decisionOf, progressOf } from '@ccm/geofence';
import {
  openTestDatabase,
  seedMonitoredDevice,
  type SeededDevice,
  type TestDatabase,
} from '@ccm/test-support';
import { loadEngineStates } from '../src/engine-state';
import { emptyPlan, type BatchPlan } from '../src/plan';
import { booleans, numbers, persistPlan } from '../src/store';

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
