import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '@ccm/db';
import { DeviceClient } from '@ccm/simulators';
import {
  createPostgresDatabase,
  seedMonitoredDevice,
  startMosquitto,
  startTcpProxy,
  type MosquittoProcess,
  type TcpProxy,
} from '@ccm/test-support';
import { migrate } from '@ccm/migrations';
import { startGateway, type Gateway } from '../src/gateway';

/** Nothing acknowledged is lost; duplicates and disorder change nothing. */
describe('durability', () => {
  let broker: MosquittoProcess;
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let proxy: TcpProxy;
  let database: Database; // through the proxy: the gateway's view of the database
  let direct: Database; // for the test's own checks
  let gateway: Gateway;

  beforeAll(async () => {
    broker = await startMosquitto();
    created = await createPostgresDatabase();
    proxy = await startTcpProxy(Number(new URL(created.url).port || 5432));
    const viaProxy = new URL(created.url);
    viaProxy.port = String(proxy.port);
    direct = openPostgres({ url: created.url, poolSize: 2 });
    await migrate(direct);
    database = openPostgres({ url: viaProxy.toString(), poolSize: 4, statementTimeoutMs: 10_000 });
    gateway = await startGateway({
      database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
      options: { maxBatchDelayMs: 5 },
    });
    await gateway.ready;
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.close();
    await direct?.close();
    await proxy?.close();
    await created?.drop();
    await broker?.stop();
  });

  const storedTimes = async (deviceNo: number) =>
    (
      await direct.db
        .selectFrom('fixes')
        .select('t')
        .where('device_no', '=', deviceNo)
        .orderBy('t')
        .execute()
    ).map((r) => r.t.getTime());

  let run = 0;
  it('a backlog of 1,000 fixes re-sent shuffled, with duplicates, is stored exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 999 }), { minLength: 0, maxLength: 300 }), // indexes sent twice
        fc.array(fc.integer(), { minLength: 1300, maxLength: 1300 }), // shuffle keys
        async (duplicates, keys) => {
          run++;
          const deviceId = `wb-backlog-${run}`;
          const seeded = await seedMonitoredDevice(direct.db, { deviceId });
          const device = new DeviceClient({ url: broker.url, deviceId });
          await device.connect();
          try {
            const base = Date.now() - 3 * 3_600_000; // out of coverage for hours
            const messages = Array.from({ length: 1000 }, (_, i) => ({
              seq: i + 1,
              fixes: [
                {
                  t: base + i * 10_000,
                  lat: 22.8 + i * 1e-5,
                  lon: 108.3,
                  acc: 8,
                  src: 'gnss' as const,
                },
              ],
            }));
            const sendList = [...messages, ...duplicates.map((i) => messages[i]!)];
            const order = sendList.map((m, i) => ({ m, k: keys[i]! })).sort((a, b) => a.k - b.k);
            await Promise.all(
              order.map(({ m }) =>
                device.publishRaw(`ccm/v1/dev/${deviceId}/fix`, JSON.stringify(m)),
              ),
            );
            // Sent out of order, seq 1000 may be committed (and acked) before the others:
            // wait for the ack and for every message to be committed, then compare exactly.
            await device.waitAcked(1000, 30_000);
            await expect
              .poll(async () => (await storedTimes(seeded.deviceNo)).length, { timeout: 30_000 })
              .toBeGreaterThanOrEqual(1000);
            const times = await storedTimes(seeded.deviceNo);
            expect(times).toEqual(messages.map((m) => m.fixes[0]!.t));
          } finally {
            await device.close();
          }
        },
      ),
      { numRuns: 4 },
    );
  });

  it('the database unreachable for 10 s: the gateway holds acks, retries, recovers, loses nothing', async () => {
    const deviceId = 'wb-outage';
    const seeded = await seedMonitoredDevice(direct.db, { deviceId });
    const device = new DeviceClient({ url: broker.url, deviceId, resendAfterMs: 2000 });
    await device.connect();
    try {
      const base = Date.now() - 3_600_000;
      let i = 0;
      const send = () =>
        device.sendFixes([{ t: base + i++ * 1000, lat: 22.8, lon: 108.3, acc: 8, src: 'gnss' }]);
      for (let k = 0; k < 50; k++) send();
      await device.waitAcked(50);

      await proxy.cut();
      const ackedBefore = device.ackedSeq;
      const sendTimer = setInterval(() => send(), 20); // keeps streaming during the outage
      await new Promise((r) => setTimeout(r, 10_000));
      // Nothing sent during the outage was acknowledged: it is not stored yet.
      expect(device.ackedSeq).toBe(ackedBefore);
      // …it waits in the gateway's bounded queue, and the lag shows it.
      expect(gateway.queueDepth()).toBeGreaterThan(0);
      expect(gateway.lagMs()).toBeGreaterThan(5000);
      await proxy.restore();
      await new Promise((r) => setTimeout(r, 1000));
      clearInterval(sendTimer);
      const last = device.nextSeq - 1;
      await device.waitAcked(last, 60_000);
      const times = await storedTimes(seeded.deviceNo);
      expect(times).toHaveLength(i);
      expect(new Set(times).size).toBe(i);
    } finally {
      await device.close();
    }
  });
});
