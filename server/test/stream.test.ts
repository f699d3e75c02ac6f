import pino from 'pino';
import { sql } from 'kysely';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '@ccm/simulators';
import { createPostgresDatabase, seedMonitoredDevice, type SeededDevice } from '@ccm/test-support';
import { hashPassword } from '../src/auth/password';
import { loadServerConfig } from '../src/config';
import { startPlatform, type Platform } from '../src/platform';
import { StreamHub } from '../src/stream/hub';
import { loadAlertViews } from '../src/alerts';
import { notify } from '../src/notifications/notify';
import { A, B, seedTree, PASSWORD } from './support';

const HOME: [number, number] = [108.366543, 22.817012];

/** The live stream over a real WebSocket, fed by the real gateway, scoped per user. */
describe('live stream', () => {
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let platform: Platform;
  let seeded: SeededDevice;
  const tokens: Record<string, string> = {};
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    created = await createPostgresDatabase();
    platform = await startPlatform(
      loadServerConfig({
        DATABASE_URL: created.url,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_LISTEN_PORT: '0',
      }),
      pino({ level: process.env.DEBUG_STREAM ? 'debug' : 'silent' }),
    );
    const db = platform.database.db;
    await seedTree(db);
    const hash = await hashPassword(PASSWORD);
    for (const [username, role, code] of [
      ['officerA', 'officer', A.township],
      ['officerB', 'officer', B.township],
      ['policeA', 'police', A.county],
    ] as const) {
      await db
        .insertInto('users')
        .values({
          username,
          display_name: username,
          role,
          jurisdiction_code: code,
          password_hash: hash,
          totp_secret: null,
          locked_until: null,
        })
        .execute();
      const res = await platform.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username, password: PASSWORD },
      });
      tokens[username] = res.json().token;
    }
    seeded = await seedMonitoredDevice(db, { deviceId: 'wb-stream' });
    const zone = await db
      .insertInto('zones')
      .values({
        name: '禁止区域',
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry: JSON.stringify({ type: 'Circle', center: HOME, radiusM: 100 }),
        min_lon: HOME[0] - 0.01,
        min_lat: HOME[1] - 0.01,
        max_lon: HOME[0] + 0.01,
        max_lat: HOME[1] + 0.01,
        buffer_m: 10,
        jurisdiction_code: A.township,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('zone_assignments')
      .values({ subject_id: seeded.subjectId, zone_id: zone.id })
      .execute();
    // Zone changes reach the gateway within a second (NOTIFY ccm_config → reload).
    await new Promise((r) => setTimeout(r, 1500));
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await platform?.close();
    await created?.drop();
  });

  /** Opens a socket and collects every message. */
  function open(query: string, first?: object) {
    const url = `${platform.httpUrl.replace('http', 'ws')}/api/v1/stream${query}`;
    const socket = new WebSocket(url);
    sockets.push(socket);
    const messages: Record<string, unknown>[] = [];
    let closed: { code: number } | undefined;
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('close', (code) => (closed = { code }));
    if (first) socket.on('open', () => socket.send(JSON.stringify(first)));
    return { socket, messages, closed: () => closed };
  }

  it('pushes a subject’s position and alerts only to users whose jurisdiction covers it', async () => {
    const a = open(`?token=${tokens.officerA}`);
    const b = open('', { type: 'auth', token: tokens.officerB }); // token as the first message
    await expect.poll(() => a.messages.some((m) => m.type === 'ready')).toBe(true);
    await expect.poll(() => b.messages.some((m) => m.type === 'ready')).toBe(true);

    const device = new DeviceClient({
      url: platform.mqttUrl,
      deviceId: 'wb-stream',
      secret: seeded.secret,
    });
    await device.connect();
    try {
      const start = Date.now() - 60_000;
      let seq = 0;
      for (let i = 0; i < 6; i++) {
        seq = device.sendFixes([
          {
            t: start + i * 10_000,
            lat: HOME[1] + (i === 0 ? 0.005 : 0),
            lon: HOME[0],
            acc: 5,
            src: 'gnss',
          },
        ]);
      }
      await device.waitAcked(seq);
      await expect
        .poll(
          // The newest position (several may come: one per tick while fixes are committed).
          () =>
            a.messages
              .filter((m) => m.type === 'position' && m.subjectId === seeded.subjectId)
              .at(-1),
          { timeout: 10_000 },
        )
        .toMatchObject({ deviceId: 'wb-stream', lat: HOME[1], lon: HOME[0], source: 'gnss' });
      await expect
        .poll(() => a.messages.find((m) => m.type === 'alert'), {
          timeout: 20_000,
          message: 'no alert message on the stream',
        })
        .toMatchObject({
          alert: { type: 'zone_enter', subjectId: seeded.subjectId, status: 'open' },
        });
      await new Promise((r) => setTimeout(r, 1500));
      expect(b.messages.filter((m) => m.type !== 'ready')).toEqual([]);
      // Regression: an unchanged position is not pushed again on every tick.
      const positions = () => a.messages.filter((m) => m.type === 'position').length;
      const before = positions();
      await new Promise((r) => setTimeout(r, 2500));
      expect(positions()).toBe(before);
    } finally {
      await device.close();
    }
    // Subscribing to positions is a position access: audited.
    const audits = await platform.database.db
      .selectFrom('audit_log')
      .select('actor_username')
      .where('action', '=', 'positions.stream')
      .execute();
    expect(audits.map((r) => r.actor_username).sort()).toEqual(['officerA', 'officerB']);
  });

  it('tells a user of a new notice at once, and only that user', async () => {
    const a = open(`?token=${tokens.officerA}`);
    const b = open(`?token=${tokens.officerB}`);
    await expect.poll(() => a.messages.some((m) => m.type === 'ready')).toBe(true);
    await expect.poll(() => b.messages.some((m) => m.type === 'ready')).toBe(true);
    const db = platform.database.db;
    const officerA = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'officerA')
      .executeTakeFirstOrThrow();
    const notice = {
      kind: 'order_expiring',
      title: '电子定位期限将满 / monitoring order ending',
      subjectId: seeded.subjectId,
      dedupeKey: `stream-test:${seeded.subjectId}`,
    } as const;
    expect(await notify(db, [officerA.id], notice)).toBe(1);
    await expect
      .poll(() => a.messages.filter((m) => m.type === 'notification'), { timeout: 5000 })
      .toEqual([{ type: 'notification' }]);
    // The same notice again is no news; the other office never hears of it.
    expect(await notify(db, [officerA.id], notice)).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.messages.filter((m) => m.type === 'notification')).toHaveLength(1);
    expect(b.messages.filter((m) => m.type === 'notification')).toEqual([]);
  });

  it('refuses a bad token, a silent client and the police role', async () => {
    const bad = open('?token=not-a-token');
    await expect.poll(() => bad.closed()?.code).toBe(4401);
    const police = open(`?token=${tokens.policeA}`);
    await expect.poll(() => police.closed()?.code).toBe(4403);
    const garbage = open('', { hello: 'world' });
    await expect.poll(() => garbage.closed()?.code).toBe(4400);
  });

  it('an alert whose transaction commits after a later one is still pushed (outbox ids out of commit order)', async () => {
    const db = platform.database.db;
    const hub = new StreamHub(db, { loadAlerts: loadAlertViews });
    await hub.start();
    const sent: { type: string; alert: { id: string } }[] = [];
    hub.add({
      user: {
        id: 'x',
        username: 'watcher',
        displayName: 'watcher',
        role: 'officer',
        jurisdictionCode: A.township,
        jurisdictionPath: `450000.450100.${A.county}.${A.township}`,
        sessionId: 's',
        sessionScope: 'full',
      },
      send: (t) => sent.push(JSON.parse(t)),
      bufferedBytes: () => 0,
      close: () => {},
    });
    const alertIds: string[] = [];
    for (const type of ['strap_tamper', 'battery_critical'] as const) {
      const row = await db
        .insertInto('alerts')
        .values({
          type,
          severity: 'high',
          subject_id: seeded.subjectId,
          device_id: 'wb-stream',
          jurisdiction_code: A.township,
          dedupe_key: `${seeded.subjectId}:${type}:out-of-order`,
          started_at: new Date(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      alertIds.push(row.id);
    }
    const outboxRow = (alertId: string) => ({
      topic: 'alert',
      payload: JSON.stringify({ alertId, action: 'open', jurisdictionCode: A.township }),
    });
    // The first alert's transaction takes the lower outbox id and commits last.
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let inserted!: () => void;
    const took = new Promise<void>((resolve) => (inserted = resolve));
    const slow = db.transaction().execute(async (trx) => {
      await trx.insertInto('outbox').values(outboxRow(alertIds[0]!)).execute();
      inserted();
      await held;
    });
    await took;
    await db.insertInto('outbox').values(outboxRow(alertIds[1]!)).execute();
    await hub.tickAlerts();
    expect(sent.map((m) => m.alert.id)).toEqual([alertIds[1]]);
    commit();
    await slow;
    await hub.tickAlerts();
    expect(sent.map((m) => m.alert.id)).toEqual([alertIds[1], alertIds[0]]);
    await hub.tickAlerts(); // found once: not pushed again
    expect(sent).toHaveLength(2);
    // Several changes in one round: each delivered, in outbox order.
    await db
      .insertInto('outbox')
      .values(
        [alertIds[1]!, alertIds[0]!].map((id) => ({ ...outboxRow(id), topic: 'alert_update' })),
      )
      .execute();
    await hub.tickAlerts();
    expect(sent.slice(2).map((m) => [m.type, m.alert.id])).toEqual([
      ['alert_update', alertIds[1]],
      ['alert_update', alertIds[0]],
    ]);
    await hub.stop(); // waits for the delivery marks
    const unmarked = await db
      .selectFrom('outbox')
      .select('id')
      .where(sql<boolean>`payload->>'alertId' = any(${alertIds})`)
      .where('delivered_at', 'is', null)
      .execute();
    expect(unmarked).toEqual([]);
  });

  it('drops a client that cannot keep up instead of buffering without bound', async () => {
    const hub = new StreamHub(platform.database.db, {
      loadAlerts: loadAlertViews,
      maxBufferedBytes: 10,
    });
    await hub.start();
    const sent: string[] = [];
    let closedWith: number | undefined;
    hub.add({
      user: {
        id: 'x',
        username: 'slow',
        displayName: 'slow',
        role: 'officer',
        jurisdictionCode: A.township,
        jurisdictionPath: `450000.450100.${A.county}.${A.township}`,
        sessionId: 's',
        sessionScope: 'full',
      },
      send: (t) => sent.push(t),
      bufferedBytes: () => 1_000_000,
      close: (code) => (closedWith = code),
    });
    await platform.database.db
      .updateTable('device_state')
      .set({ updated_at: new Date(Date.now() + 1000) })
      .execute();
    await hub.tick();
    await hub.stop();
    expect(sent).toEqual([]);
    expect(closedWith).toBe(1013);
    expect(hub.size).toBe(0);
  });
});
