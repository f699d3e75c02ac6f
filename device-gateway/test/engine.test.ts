import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import type { DB } from '@ccm/db';
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
import { startGateway, type CommittedBatch, type Gateway, type GatewayDeps } from '../src/gateway';

/** From a published fix to a stored alert, through the real broker and database. */
const HOME: [number, number] = [108.366543, 22.817012]; // [lon, lat]
const M_PER_DEG_LAT = 111_320;
const north = (m: number) => HOME[1] + m / M_PER_DEG_LAT;

describe.each(['postgres', 'pglite'] as const)(
  'rules engine in the gateway, end to end, on %s',
  (backend) => {
    let broker: MosquittoProcess;
    let t: TestDatabase;
    let gateway: Gateway;
    const deps = (): GatewayDeps => ({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
      options: { silenceIntervalMs: 300 },
      rulesOptions: { silenceGraceS: 2 },
    });

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

    async function exclusionZone(db: Kysely<DB>, subject: SeededDevice, radiusM = 100) {
      const zone = await db
        .insertInto('zones')
        .values({
          name: '被害人住所 / victim home',
          kind: 'exclusion',
          purpose: 'prohibited',
          geometry: JSON.stringify({ type: 'Circle', center: HOME, radiusM }),
          min_lon: HOME[0] - 0.01,
          min_lat: HOME[1] - 0.01,
          max_lon: HOME[0] + 0.01,
          max_lat: HOME[1] + 0.01,
          buffer_m: 10,
          jurisdiction_code: TOWNSHIP,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('zone_assignments')
        .values({ subject_id: subject.subjectId, zone_id: zone.id })
        .execute();
      return zone.id;
    }

    const alertsOf = (subjectId: string) =>
      t.database.db
        .selectFrom('alerts')
        .selectAll()
        .where('subject_id', '=', subjectId)
        .orderBy('started_at')
        .execute();

    /** A wristband and a phone of one subject (the phone's order moved to that subject). */
    async function oneSubjectTwoDevices(wristbandId: string, phoneId: string) {
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: wristbandId });
      const phone = await seedMonitoredDevice(t.database.db, { deviceId: phoneId });
      await t.database.db
        .updateTable('monitoring_orders')
        .set({ subject_id: subject.subjectId })
        .where('id', '=', phone.orderId!)
        .execute();
      return subject;
    }

    /** The newest fix time the subject's stored engine state has seen. */
    async function lastFixTimeOf(subjectNo: number) {
      const state = await t.database.db
        .selectFrom('engine_state')
        .select('progress')
        .where('subject_no', '=', subjectNo)
        .executeTakeFirstOrThrow();
      return (state.progress as { lastFixTimeMs: number }).lastFixTimeMs;
    }

    /** Device clients, connected (the test closes them). */
    async function connected(...ids: string[]) {
      const clients = ids.map((id) => new DeviceClient({ url: broker.url, deviceId: id }));
      for (const c of clients) await c.connect();
      return clients;
    }

    /** A walk: GNSS fixes every 10 s at the given distances north of HOME (m). */
    const walk = (startMs: number, metres: number[]) =>
      metres.map((m, i) => ({
        t: startMs + i * 10_000,
        lat: north(m),
        lon: HOME[0],
        acc: 5,
        src: 'gnss' as const,
      }));

    it('a zone created after start applies within a second; entering it raises one alert, leaving ends it', async () => {
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-eng-1' });
      const zoneId = await exclusionZone(t.database.db, subject);
      await new Promise((r) => setTimeout(r, 1000)); // NOTIFY ccm_config → reload
      const device = new DeviceClient({ url: broker.url, deviceId: 'wb-eng-1' });
      await device.connect();
      const seen: CommittedBatch[] = [];
      gateway.events.on('committed', (b: CommittedBatch) => seen.push(b));
      try {
        // Live: the walk ends now, so nothing is late. 500 m away, in to the centre, out again.
        const start = Date.now() - 14 * 10_000;
        const fixes = walk(start, [500, 400, 300, 200, 0, 0, 0, 0, 0, 300, 500, 500, 500, 500]);
        let last = 0;
        for (const f of fixes.slice(0, 9)) last = device.sendFixes([f]);
        await device.waitAcked(last);
        const commands = () =>
          t.database.db
            .selectFrom('device_commands')
            .select(['type', 'params'])
            .where('device_id', '=', 'wb-eng-1')
            .orderBy('created_at')
            .execute();
        // Inside: the wearer is warned (警示告知) and asked to report every 15 s.
        expect((await commands()).map((c) => [c.type, c.params])).toEqual([
          ['warn', { text: expect.stringContaining('禁止区域'), vibrate: true }],
          ['set_interval', { seconds: 15 }],
        ]);
        expect((await alertsOf(subject.subjectId)).map((a) => a.ended_at)).toEqual([null]);
        for (const f of fixes.slice(9)) last = device.sendFixes([f]);
        await device.waitAcked(last);
        // Out again: back to the normal interval.
        expect((await commands()).at(-1)).toEqual({
          type: 'set_interval',
          params: { seconds: 60 },
        });
        const alerts = await alertsOf(subject.subjectId);
        expect(alerts).toHaveLength(1);
        expect(alerts[0]).toMatchObject({
          type: 'zone_enter',
          severity: 'high',
          zone_id: zoneId,
          device_id: 'wb-eng-1',
          late: false,
          jurisdiction_code: TOWNSHIP,
        });
        expect(alerts[0]!.started_at.getTime()).toBeGreaterThanOrEqual(fixes[3]!.t);
        expect(alerts[0]!.ended_at).not.toBeNull();
        expect(alerts[0]!.engine_key).toBeTruthy();
        const history = await t.database.db
          .selectFrom('alert_events')
          .select('action')
          .where('alert_id', '=', alerts[0]!.id)
          .orderBy('id')
          .execute();
        expect(history.map((h) => h.action)).toEqual(['raised', 'ended']);
        const outbox = await t.database.db
          .selectFrom('outbox')
          .select(['topic', 'payload'])
          .execute();
        expect(outbox.map((o) => o.topic)).toEqual(
          expect.arrayContaining(['alert', 'alert_update']),
        );
        expect(seen.flatMap((b) => b.alerts.map((a) => a.action))).toEqual(
          expect.arrayContaining(['open', 'end']),
        );
      } finally {
        await device.close();
      }
    });

    it('one message with two visits to a zone: the first alert opens and ends, the second opens, in that order', async () => {
      // One batch holds open → end → open of the same zone: the second episode may open only
      // after the first has ended (one open violation per zone), each with its own history.
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-eng-5' });
      await exclusionZone(t.database.db, subject);
      await gateway.reloadConfig();
      const device = new DeviceClient({ url: broker.url, deviceId: 'wb-eng-5' });
      await device.connect();
      try {
        const metres = [500, 400, 0, 0, 0, 0, 0, 400, 500, 500, 500, 500, 0, 0, 0, 0, 0];
        const fixes = walk(Date.now() - metres.length * 10_000, metres);
        await device.waitAcked(device.sendFixes(fixes));
        const alerts = await alertsOf(subject.subjectId);
        expect(alerts.map((a) => [a.type, a.ended_at === null])).toEqual([
          ['zone_enter', false],
          ['zone_enter', true],
        ]);
        expect(alerts[0]!.ended_at!.getTime()).toBeLessThanOrEqual(alerts[1]!.started_at.getTime());
        for (const [alert, actions] of [
          [alerts[0]!, ['raised', 'ended']],
          [alerts[1]!, ['raised']],
        ] as const) {
          const history = await t.database.db
            .selectFrom('alert_events')
            .select('action')
            .where('alert_id', '=', alert.id)
            .orderBy('id')
            .execute();
          expect(history.map((h) => h.action)).toEqual(actions);
        }
      } finally {
        await device.close();
      }
    });

    it('two devices of one subject sending at once: every fix judged, one alert, the latest state kept', async () => {
      // Batches commit in lanes over disjoint devices; two devices of one subject may land in
      // two lanes, and the second plan must wait for the first and be built again on its
      // state, or one lane's engine state would overwrite the other's.
      const subject = await oneSubjectTwoDevices('wb-eng-6a', 'ph-eng-6b');
      await exclusionZone(t.database.db, subject);
      await gateway.reloadConfig();
      const [a, b] = (await connected('wb-eng-6a', 'ph-eng-6b')) as [DeviceClient, DeviceClient];
      try {
        // 40 fixes each, a message per fix, inside the zone from the 5th on; b 1 s after a,
        // each sent while the other's batch may still be committing.
        const metres = [500, 400, 300, 200, ...Array<number>(36).fill(0)];
        const start = Date.now() - (metres.length + 1) * 10_000;
        const fixesA = walk(start, metres);
        const fixesB = walk(start + 1000, metres);
        const seqs: [DeviceClient, number][] = [];
        const pause = () => new Promise((r) => setTimeout(r, 25));
        for (let i = 0; i < metres.length; i++) {
          seqs.push([a, a.sendFixes([fixesA[i]!])]);
          await pause();
          seqs.push([b, b.sendFixes([fixesB[i]!])]);
          await pause();
        }
        for (const [device, seq] of seqs) await device.waitAcked(seq);
        const stored = await t.database.db
          .selectFrom('fixes')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('subject_no', '=', subject.subjectNo)
          .executeTakeFirstOrThrow();
        expect(Number(stored.n)).toBe(2 * metres.length);
        const alerts = await alertsOf(subject.subjectId);
        expect(alerts.map((x) => [x.type, x.ended_at === null])).toEqual([['zone_enter', true]]);
        expect(await lastFixTimeOf(subject.subjectNo)).toBe(fixesB[fixesB.length - 1]!.t);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a batch sharing a subject with a slow commit waits for it and builds on its state', async () => {
      // Device a's fixes take 300 ms each to insert (a trigger), so its batch is still
      // committing when b's fix arrives: b's batch goes to the second lane, shares the
      // subject, and must not be planned on the state from before a's batch (with a plan
      // from the old state, whichever commits last overwrites the other: last writer wins).
      const subject = await oneSubjectTwoDevices('wb-eng-7a', 'ph-eng-7b');
      await gateway.reloadConfig();
      await sql`CREATE FUNCTION slow_insert_for_test() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$`.execute(t.database.db);
      await sql`CREATE TRIGGER slow_insert_for_test BEFORE INSERT ON fixes FOR EACH ROW
        WHEN (NEW.device_no = ${sql.lit(subject.deviceNo)})
        EXECUTE FUNCTION slow_insert_for_test()`.execute(t.database.db);
      const [a, b] = (await connected('wb-eng-7a', 'ph-eng-7b')) as [DeviceClient, DeviceClient];
      try {
        const start = Date.now() - 60_000;
        const fix = (tMs: number) => ({
          t: tMs,
          lat: north(900),
          lon: HOME[0],
          acc: 5,
          src: 'gnss' as const,
        });
        for (let round = 0; round < 3; round++) {
          const t0 = start + round * 10_000;
          const seqA = a.sendFixes([fix(t0)]);
          await new Promise((r) => setTimeout(r, 100)); // a's batch is committing now
          const seqB = b.sendFixes([fix(t0 + 5_000)]);
          await a.waitAcked(seqA);
          await b.waitAcked(seqB);
        }
        // The newest fix of the subject is b's last: its state saw a's batches too.
        expect(await lastFixTimeOf(subject.subjectNo)).toBe(start + 2 * 10_000 + 5_000);
      } finally {
        await sql`DROP TRIGGER slow_insert_for_test ON fixes`.execute(t.database.db);
        await sql`DROP FUNCTION slow_insert_for_test()`.execute(t.database.db);
        await a.close();
        await b.close();
      }
    });

    it('a restart mid-violation neither forgets the open alert nor raises it twice', async () => {
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-eng-2' });
      await exclusionZone(t.database.db, subject);
      await new Promise((r) => setTimeout(r, 1000));
      const device = new DeviceClient({ url: broker.url, deviceId: 'wb-eng-2' });
      await device.connect();
      try {
        const start = Date.now() - 30 * 60_000;
        let last = 0;
        for (const f of walk(start, [500, 0, 0, 0, 0])) last = device.sendFixes([f]);
        await device.waitAcked(last);
        expect((await alertsOf(subject.subjectId)).map((a) => a.ended_at)).toEqual([null]);

        await gateway.close();
        gateway = await startGateway(deps());
        await gateway.ready;

        for (const f of walk(start + 100_000, [0, 0, 0, 500, 500, 500, 500]))
          last = device.sendFixes([f]);
        await device.waitAcked(last, 30_000);
        const alerts = await alertsOf(subject.subjectId);
        expect(alerts).toHaveLength(1);
        expect(alerts[0]!.ended_at).not.toBeNull();
      } finally {
        await device.close();
      }
    });

    it('a violation in a late backlog is raised marked late, with how late', async () => {
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-eng-3' });
      await exclusionZone(t.database.db, subject);
      await new Promise((r) => setTimeout(r, 1000));
      const device = new DeviceClient({ url: broker.url, deviceId: 'wb-eng-3' });
      await device.connect();
      try {
        const start = Date.now() - 3 * 3_600_000; // out of coverage three hours ago
        const seq = device.sendFixes(walk(start, [500, 0, 0, 0, 0, 500, 500, 500, 500]));
        await device.waitAcked(seq);
        // The newest fix is 3 h old, so the silence check may rightly raise no_location by
        // now too (a race with its 300 ms timer): only the zone alert is this test's subject.
        const alerts = (await alertsOf(subject.subjectId)).filter((a) => a.type === 'zone_enter');
        expect(alerts).toHaveLength(1);
        expect(alerts[0]!.late).toBe(true);
        expect(alerts[0]!.late_by_ms).toBeGreaterThan(2.5 * 3_600_000);
      } finally {
        await device.close();
      }
    });

    it('no message for the interval plus grace raises no_signal once; the next message ends it', async () => {
      const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-eng-4' });
      await t.database.db
        .updateTable('subjects')
        .set({ report_interval_s: 5 })
        .where('id', '=', subject.subjectId)
        .execute();
      const device = new DeviceClient({ url: broker.url, deviceId: 'wb-eng-4' });
      await device.connect();
      try {
        const seq = device.sendHeartbeat({ t: Date.now(), bat: 80 });
        await device.waitAcked(seq);
        const noSignal = async () =>
          (await alertsOf(subject.subjectId)).filter((a) => a.type === 'no_signal');
        await expect.poll(async () => (await noSignal()).length, { timeout: 20_000 }).toBe(1);
        expect((await noSignal())[0]!.ended_at).toBeNull();
        await new Promise((r) => setTimeout(r, 1000)); // more silence ticks: still one alert
        expect(await noSignal()).toHaveLength(1);
        const hb = device.sendHeartbeat({ t: Date.now(), bat: 80 });
        await device.waitAcked(hb);
        await expect
          .poll(async () => (await noSignal())[0]!.ended_at, { timeout: 10_000 })
          .not.toBeNull();
      } finally {
        await device.close();
      }
    });
  },
);

describe('two gateways on one database (regression: false no_signal from the gateway without the device)', () => {
  it('the gateway that does not receive a device’s messages neither raises no_signal nor clobbers its state', async () => {
    const brokerA = await startMosquitto();
    const brokerB = await startMosquitto();
    const t = await openTestDatabase('postgres');
    const logger = pino({ level: 'silent' });
    const fast = { options: { silenceIntervalMs: 300 }, rulesOptions: { silenceGraceS: 2 } };
    const owner = await startGateway({
      database: t.database,
      mqttUrl: brokerA.url,
      logger,
      ...fast,
    });
    const other = await startGateway({
      database: t.database,
      mqttUrl: brokerB.url,
      logger,
      ...fast,
    });
    await owner.ready;
    await other.ready;
    const subject = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-two-gw' });
    await t.database.db
      .updateTable('subjects')
      .set({ report_interval_s: 5 })
      .where('id', '=', subject.subjectId)
      .execute();
    const device = new DeviceClient({ url: brokerA.url, deviceId: 'wb-two-gw' });
    await device.connect();
    try {
      // Reports every second for 14 s (interval 5 s + grace 2 s would be crossed twice over).
      for (let i = 0; i < 14; i++) {
        const seq = device.sendFixes([
          { t: Date.now(), lat: 22.8, lon: 108.3, acc: 5, src: 'gnss' },
        ]);
        await device.waitAcked(seq);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const alerts = await t.database.db
        .selectFrom('alerts')
        .select('type')
        .where('subject_id', '=', subject.subjectId)
        .execute();
      expect(alerts).toEqual([]);
      // Then it really goes silent: exactly one no_signal, from whichever gateway.
      await expect
        .poll(
          async () =>
            (
              await t.database.db
                .selectFrom('alerts')
                .select('type')
                .where('subject_id', '=', subject.subjectId)
                .execute()
            ).map((a) => a.type),
          { timeout: 20_000 },
        )
        .toEqual(['no_signal']);
    } finally {
      await device.close();
      await owner.close();
      await other.close();
      await t.dispose();
      await brokerA.stop();
      await brokerB.stop();
    }
  });
});
