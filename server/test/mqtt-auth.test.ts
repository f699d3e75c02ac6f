import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '@ccm/simulators';
import { seedMonitoredDevice, waitFor, type SeededDevice } from '@ccm/test-support';
import { loadServerConfig } from '../src/config';
import { startPlatform, type Platform } from '../src/platform';

const HOOK_TOKEN = 'test-hook-token-0123456789abcdef';

/** The whole platform in one process: in-process broker with device auth, gateway, API. */
describe('in-process broker: device authentication and topic authorisation', () => {
  let dir: string;
  let platform: Platform;
  let device: SeededDevice;
  let other: SeededDevice;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccm-auth-'));
    platform = await startPlatform(
      loadServerConfig({
        CCM_DATA_DIR: dir,
        PORT: '0',
        HOST: '127.0.0.1',
        MQTT_LISTEN_PORT: '0',
        MQTT_AUTH_HOOK_TOKEN: HOOK_TOKEN,
      }),
      pino({ level: 'silent' }),
    );
    device = await seedMonitoredDevice(platform.database.db, { deviceId: 'wb-auth-1' });
    other = await seedMonitoredDevice(platform.database.db, { deviceId: 'wb-auth-2' });
    await waitFor(
      async () => (await platform.app.inject('/api/v1/health')).json().gateway.status === 'up',
    );
  });
  afterAll(async () => {
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Connects and resolves with the CONNACK outcome. */
  function tryConnect(clientId: string, username?: string, password?: string) {
    return new Promise<{ ok: boolean; client: mqtt.MqttClient }>((resolve) => {
      const client = mqtt.connect(platform.mqttUrl, {
        clientId,
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        reconnectPeriod: 0,
        connectTimeout: 3000,
      });
      client.once('connect', () => resolve({ ok: true, client }));
      client.once('error', () => resolve({ ok: false, client }));
    });
  }

  const securityEvents = (clientId: string) =>
    platform.database.db
      .selectFrom('security_events')
      .selectAll()
      .where('client_id', '=', clientId)
      .execute();

  it('a registered device with its secret connects, and its fix is stored and acked end to end', async () => {
    const client = new DeviceClient({
      url: platform.mqttUrl,
      deviceId: device.deviceId,
      secret: device.secret,
    });
    await client.connect();
    try {
      const seq = client.sendFixes([
        { t: Date.now() - 1000, lat: 22.8, lon: 108.3, acc: 5, src: 'gnss' },
      ]);
      await client.waitAcked(seq);
      const rows = await platform.database.db
        .selectFrom('fixes')
        .select('subject_no')
        .where('device_no', '=', device.deviceNo)
        .execute();
      expect(rows).toEqual([{ subject_no: device.subjectNo }]);
    } finally {
      await client.close();
    }
  });

  it.each([
    ['a wrong secret', 'wb-auth-1', 'wb-auth-1', 'not-the-secret'],
    ['no secret', 'wb-auth-1', 'wb-auth-1', undefined],
    ['an unknown device', 'wb-unknown', 'wb-unknown', 'whatever'],
    ['a client id with a slash', 'wb/auth', 'wb/auth', 'x'],
    ['a client id with a wildcard', 'wb+auth', 'wb+auth', 'x'],
    ['a username different from the client id', 'wb-auth-1', 'wb-auth-2', 'x'],
  ])(
    'refuses %s at CONNECT and records a security event',
    async (_what, clientId, username, password) => {
      const { ok, client } = await tryConnect(clientId, username, password);
      await client.endAsync(true);
      expect(ok).toBe(false);
      await expect
        .poll(async () =>
          (await securityEvents(clientId)).some((e) => e.kind === 'connect_refused'),
        )
        .toBe(true);
    },
  );

  it('a device cannot publish under another device’s id', async () => {
    const { ok, client } = await tryConnect(device.deviceId, device.deviceId, device.secret);
    expect(ok).toBe(true);
    client.publish(
      'ccm/v1/dev/wb-auth-2/fix',
      JSON.stringify({
        seq: 1,
        fixes: [{ t: Date.now(), lat: 22.8, lon: 108.3, acc: 5, src: 'gnss' }],
      }),
      { qos: 1 },
    );
    await expect
      .poll(async () =>
        (await securityEvents(device.deviceId)).some((e) => e.kind === 'publish_refused'),
      )
      .toBe(true);
    await client.endAsync(true);
    const rows = await platform.database.db
      .selectFrom('fixes')
      .select('t')
      .where('device_no', '=', other.deviceNo)
      .execute();
    expect(rows).toEqual([]);
  });

  it('a device may subscribe only to its own ack and cmd', async () => {
    const { client } = await tryConnect(device.deviceId, device.deviceId, device.secret);
    try {
      const own = await client.subscribeAsync(`ccm/v1/dev/${device.deviceId}/ack`, { qos: 1 });
      expect(own[0]!.qos).toBe(1);
      // SUBACK 0x80 (refused): mqtt.js turns it into a rejected promise.
      await expect(client.subscribeAsync('ccm/v1/dev/wb-auth-2/ack', { qos: 1 })).rejects.toThrow(
        /Subscribe error/,
      );
      await expect(client.subscribeAsync('ccm/v1/dev/#', { qos: 1 })).rejects.toThrow(
        /Subscribe error/,
      );
      await expect
        .poll(
          async () =>
            (await securityEvents(device.deviceId)).filter((e) => e.kind === 'subscribe_refused')
              .length,
        )
        .toBe(2);
    } finally {
      await client.endAsync(true);
    }
  });

  describe('HTTP hooks for EMQX', () => {
    const post = (url: string, body: object, token = HOOK_TOKEN) =>
      platform.app.inject({
        method: 'POST',
        url,
        payload: body,
        headers: { authorization: `Bearer ${token}` },
      });

    it('authenticates a device by its secret and refuses others', async () => {
      expect(
        (
          await post('/api/v1/mqtt/auth', {
            clientid: device.deviceId,
            username: device.deviceId,
            password: device.secret,
          })
        ).json(),
      ).toEqual({ result: 'allow', is_superuser: false });
      expect(
        (
          await post('/api/v1/mqtt/auth', {
            clientid: device.deviceId,
            username: device.deviceId,
            password: 'nope',
          })
        ).json().result,
      ).toBe('deny');
    });

    it('authorises topics by the device contract', async () => {
      const acl = (topic: string, action: 'publish' | 'subscribe') =>
        post('/api/v1/mqtt/acl', {
          clientid: device.deviceId,
          username: device.deviceId,
          topic,
          action,
        }).then((r) => r.json().result);
      expect(await acl(`ccm/v1/dev/${device.deviceId}/fix`, 'publish')).toBe('allow');
      expect(await acl('ccm/v1/dev/wb-auth-2/fix', 'publish')).toBe('deny');
      expect(await acl(`ccm/v1/dev/${device.deviceId}/cmd`, 'subscribe')).toBe('allow');
      expect(await acl(`ccm/v1/dev/${device.deviceId}/fix`, 'subscribe')).toBe('deny');
    });

    it('needs the hook token', async () => {
      const res = await post(
        '/api/v1/mqtt/auth',
        { clientid: 'x' },
        'wrong-token-wrong-token-wrong',
      );
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    });
  });

  it('exposes gateway metrics for Prometheus', async () => {
    const res = await platform.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/ccm_gateway_fixes_stored_total \d+/);
    expect(res.body).toContain('ccm_gateway_commit_seconds_bucket');
  });
});
