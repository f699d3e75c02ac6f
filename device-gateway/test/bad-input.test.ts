import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '@ccm/simulators';
import {
  openTestDatabase,
  seedMonitoredDevice,
  startMosquitto,
  type MosquittoProcess,
  type TestDatabase,
} from '@ccm/test-support';
import { startGateway, takeBatch, type Gateway } from '../src/gateway';
import { decode, type Decoded } from '../src/decode';

/** Hostile input: each gets the contract's handling, and other devices are not held up. */
const FIX = {
  t: Date.now() - 60_000,
  lat: 22.817012,
  lon: 108.366543,
  acc: 6.5,
  src: 'gnss' as const,
};

describe('bad input through a real broker', () => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  let device: DeviceClient;
  let deviceNo: number;
  const topic = (kind: string, id = 'wb-bad-1') => `ccm/v1/dev/${id}/${kind}`;

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase('postgres');
    gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
      // These tests publish raw messages with seqs of their choosing: ack the highest at once
      // (ack contiguity is tested in contract.test.ts and kill.test.ts).
      options: { gapForgiveAfterMs: 0 },
    });
    await gateway.ready;
    deviceNo = (await seedMonitoredDevice(t.database.db, { deviceId: 'wb-bad-1' })).deviceNo;
    device = new DeviceClient({ url: broker.url, deviceId: 'wb-bad-1', startSeq: 1000 });
    await device.connect();
  });
  afterAll(async () => {
    await device?.close();
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
  });

  const rejected = (reason: string) =>
    t.database.db
      .selectFrom('rejected_messages')
      .selectAll()
      .where('reason', '=', reason)
      .execute();

  it.each([
    ['invalid_json', '{"seq":200,"fixes":[{"t":1,', 200],
    ['schema', JSON.stringify({ seq: 201, fixes: [{ ...FIX, lat: 'north' }] }), 201],
    ['schema', JSON.stringify({ seq: 202, fixes: [{ ...FIX, lat: 91 }] }), 202],
    ['schema', JSON.stringify({ seq: 203, fixes: [{ ...FIX, lon: -181 }] }), 203],
    ['schema', JSON.stringify({ seq: 204, fixes: [] }), 204],
    ['schema', JSON.stringify({ seq: 205, fixes: [{ ...FIX, acc: 0 }] }), 205],
    ['schema', JSON.stringify({ seq: 206, fixes: [{ ...FIX, src: 'gps' }] }), 206],
  ])('%s: %s is kept as a rejected message and acknowledged', async (reason, payload, seq) => {
    await device.publishRaw(topic('fix'), payload);
    await device.waitAcked(seq);
    const rows = await rejected(reason);
    const row = rows.find((r) => Buffer.from(r.raw).toString('utf8') === payload);
    expect(row).toBeDefined();
    expect(row).toMatchObject({
      device_id: 'wb-bad-1',
      topic: topic('fix'),
      size_bytes: payload.length,
    });
    expect(row!.detail.length).toBeGreaterThan(0);
  });

  it('oversize: more than 64 KiB is rejected (first 64 KiB kept) and acknowledged', async () => {
    const fixes = Array.from({ length: 1000 }, (_, i) => ({ ...FIX, t: FIX.t - i * 1000 }));
    const payload = JSON.stringify({ seq: 300, fixes });
    expect(payload.length).toBeGreaterThan(64 * 1024);
    await device.publishRaw(topic('fix'), payload);
    await device.waitAcked(300);
    const [row] = await rejected('oversize');
    expect(row!.size_bytes).toBe(payload.length);
    expect(row!.raw.byteLength).toBe(64 * 1024);
  });

  it('unknown device: rejected and recorded as a security event; nothing else stored', async () => {
    await device.publishRaw(topic('fix', 'wb-nobody'), JSON.stringify({ seq: 1, fixes: [FIX] }));
    await expect.poll(async () => (await rejected('unknown_device')).length).toBe(1);
    const events = await t.database.db
      .selectFrom('security_events')
      .selectAll()
      .where('client_id', '=', 'wb-nobody')
      .execute();
    expect(events.map((e) => e.kind)).toContain('publish_refused');
  });

  it('bad input changes nothing else: the device state and positions are untouched by it', async () => {
    const fixes = await t.database.db
      .selectFrom('fixes')
      .select('t')
      .where('device_no', '=', deviceNo)
      .execute();
    expect(fixes).toEqual([]);
    const seq = device.sendFixes([FIX]);
    await device.waitAcked(seq);
    const after = await t.database.db
      .selectFrom('fixes')
      .select('t')
      .where('device_no', '=', deviceNo)
      .execute();
    expect(after).toHaveLength(1);
  });

  it('a flood of 10,000 messages from one device: recorded, and another device is served first', async () => {
    const other = await seedMonitoredDevice(t.database.db, { deviceId: 'wb-calm' });
    const calm = new DeviceClient({ url: broker.url, deviceId: 'wb-calm' });
    await calm.connect();
    await seedMonitoredDevice(t.database.db, { deviceId: 'wb-flood' });
    const flood = new DeviceClient({ url: broker.url, deviceId: 'wb-flood', startSeq: 1 });
    await flood.connect();
    try {
      const base = Date.now() - 3_600_000;
      const sends: Promise<void>[] = [];
      for (let i = 1; i <= 10_000; i++) {
        sends.push(
          flood.publishRaw(
            topic('fix', 'wb-flood'),
            JSON.stringify({ seq: i, fixes: [{ ...FIX, t: base + i }] }),
          ),
        );
      }
      await Promise.all(sends);
      // The calm device's one message, published after the whole flood, is committed before
      // the flood's last message: the per-device share of each batch lets it through.
      const calmSeq = calm.sendFixes([FIX]);
      await calm.waitAcked(calmSeq, 60_000);
      const calmAckedAt = Date.now();
      await flood.waitAcked(10_000, 120_000);
      const floodDoneAt = Date.now();
      expect(calmAckedAt).toBeLessThanOrEqual(floodDoneAt);
      const floodState = await t.database.db
        .selectFrom('device_state')
        .innerJoin('devices', 'devices.no', 'device_state.device_no')
        .select(['acked_seq'])
        .where('devices.id', '=', 'wb-flood')
        .executeTakeFirstOrThrow();
      expect(floodState.acked_seq).toBe(10_000);
      const stored = await t.database.db
        .selectFrom('fixes')
        .innerJoin('devices', 'devices.no', 'fixes.device_no')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('devices.id', '=', 'wb-flood')
        .executeTakeFirstOrThrow();
      expect(stored.n).toBe(10_000);
      const events = await t.database.db
        .selectFrom('security_events')
        .select('kind')
        .where('client_id', '=', 'wb-flood')
        .execute();
      expect(events.map((e) => e.kind)).toContain('flood');
      expect(other.deviceNo).toBeGreaterThan(0);
    } finally {
      await calm.close();
      await flood.close();
    }
  });
});

describe('takeBatch', () => {
  const msg = (deviceId: string, seq: number): Decoded =>
    decode(
      `ccm/v1/dev/${deviceId}/hb`,
      Buffer.from(JSON.stringify({ seq, t: 1_795_900_000_000 })),
      0,
    );

  it('caps each device per batch and keeps every device in order', () => {
    const queue = [msg('aaa', 1), msg('aaa', 2), msg('bbb', 1), msg('aaa', 3), msg('bbb', 2)];
    const first = takeBatch(queue, 10, 2);
    expect(first.map((m) => `${m.deviceId}:${'seq' in m ? m.seq : ''}`)).toEqual([
      'aaa:1',
      'aaa:2',
      'bbb:1',
      'bbb:2',
    ]);
    expect(queue.map((m) => `${m.deviceId}:${'seq' in m ? m.seq : ''}`)).toEqual(['aaa:3']);
  });

  it('leaves every message of a device whose previous batch is still committing, in order', () => {
    const queue = [msg('aaa', 1), msg('bbb', 1), msg('aaa', 2), msg('ccc', 1), msg('bbb', 2)];
    const next = takeBatch(queue, 10, 10, new Set(['aaa']));
    expect(next.map((m) => `${m.deviceId}:${'seq' in m ? m.seq : ''}`)).toEqual([
      'bbb:1',
      'ccc:1',
      'bbb:2',
    ]);
    expect(queue.map((m) => `${m.deviceId}:${'seq' in m ? m.seq : ''}`)).toEqual([
      'aaa:1',
      'aaa:2',
    ]);
  });
});
