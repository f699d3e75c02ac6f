import mqtt from 'mqtt';
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
import { queueCommand, startCommandDispatcher, type CommandDispatcher } from '../src/commands';
import { startGateway, type Gateway } from '../src/gateway';

describe('downlink commands', () => {
  let broker: MosquittoProcess;
  let t: TestDatabase;
  let gateway: Gateway;
  let platformClient: mqtt.MqttClient;
  let dispatcher: CommandDispatcher;
  let device: DeviceClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    t = await openTestDatabase('postgres');
    gateway = await startGateway({
      database: t.database,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
    });
    await gateway.ready;
    platformClient = await mqtt.connectAsync(broker.url, { clientId: 'ccm-server-test' });
    dispatcher = startCommandDispatcher(t.database.db, platformClient, { intervalMs: 200 });
    await seedMonitoredDevice(t.database.db, { deviceId: 'wb-cmd' });
    device = new DeviceClient({ url: broker.url, deviceId: 'wb-cmd' });
    await device.connect();
  });
  afterAll(async () => {
    dispatcher?.close();
    await device?.close();
    await platformClient?.endAsync();
    await gateway?.close();
    await t?.dispose();
    await broker?.stop();
  });

  const status = (id: string) =>
    t.database.db
      .selectFrom('device_commands')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  it('a warn command reaches the device as the contract says, and its result is stored', async () => {
    const id = await queueCommand(t.database.db, {
      deviceId: 'wb-cmd',
      type: 'warn',
      params: { text: '您已进入禁止区域，请立即离开' },
      ttlMs: 300_000,
      createdBy: null,
    });
    await expect.poll(() => device.commands.length).toBe(1);
    const received = device.commands[0] as Record<string, unknown>;
    expect(received).toMatchObject({
      id,
      type: 'warn',
      params: { text: '您已进入禁止区域，请立即离开', vibrate: true },
    });
    expect(typeof received.expires).toBe('number');
    expect((await status(id)).status).toBe('sent');
    const seq = device.sendCommandResult(id, 'done');
    await device.waitAcked(seq);
    expect((await status(id)).status).toBe('done');
  });

  it('set_interval and checkin_request carry validated params', async () => {
    await expect(
      queueCommand(t.database.db, {
        deviceId: 'wb-cmd',
        type: 'set_interval',
        params: { seconds: 1 },
        ttlMs: 60_000,
        createdBy: null,
      }),
    ).rejects.toThrow();
    const id = await queueCommand(t.database.db, {
      deviceId: 'wb-cmd',
      type: 'set_interval',
      params: { seconds: 15 },
      ttlMs: 60_000,
      createdBy: null,
    });
    await expect
      .poll(() => device.commands.some((c) => (c as { id: string }).id === id))
      .toBe(true);
  });

  it('an expired command is never sent', async () => {
    const id = await queueCommand(t.database.db, {
      deviceId: 'wb-cmd',
      type: 'locate',
      params: {},
      ttlMs: -1000,
      createdBy: null,
    });
    await dispatcher.flush();
    expect((await status(id)).status).toBe('expired');
    expect(device.commands.some((c) => (c as { id: string }).id === id)).toBe(false);
  });
});
