import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '@ccm/simulators';
import {
  openTestDatabase,
  seedMonitoredDevice,
  startMosquitto,
  type MosquittoProcess,
  type TestDatabase,
} from '@ccm/test-support';
import { renderPasswordFile } from '../src/mosquitto-passwd';

/**
 * Our stored device hashes are Mosquitto's own `$7$` format: a generated password file lets
 * a real Mosquitto authenticate devices by their secret, with the contract's topic ACL.
 */
describe('generated Mosquitto password file + ACL', () => {
  let t: TestDatabase;
  let broker: MosquittoProcess;
  let dir: string;
  let secret: string;

  beforeAll(async () => {
    t = await openTestDatabase('pglite');
    secret = (await seedMonitoredDevice(t.database.db, { deviceId: 'wb-mosq' })).secret;
    await seedMonitoredDevice(t.database.db, { deviceId: 'wb-mosq-2' });
    dir = mkdtempSync(join(tmpdir(), 'ccm-passwd-'));
    writeFileSync(
      join(dir, 'passwd'),
      await renderPasswordFile(t.database.db, {
        username: 'ccm-platform',
        password: 'platform-password-123',
      }),
    );
    // The ACL the project ships for Mosquitto deployments.
    copyFileSync(
      fileURLToPath(new URL('../../deploy/mosquitto/acl', import.meta.url)),
      join(dir, 'acl'),
    );
    // Mosquitto started as root drops to its own user before reading these files.
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'passwd'), 0o644);
    chmodSync(join(dir, 'acl'), 0o644);
    broker = await startMosquitto(
      [
        `password_file ${join(dir, 'passwd')}`,
        `acl_file ${join(dir, 'acl')}`,
        'allow_anonymous false',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await broker?.stop();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const connects = (clientId: string, username: string, password: string) =>
    new Promise<boolean>((resolve) => {
      const c = mqtt.connect(broker.url, {
        clientId,
        username,
        password,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      });
      c.once('connect', () => {
        void c.endAsync();
        resolve(true);
      });
      c.once('error', () => {
        void c.endAsync(true);
        resolve(false);
      });
    });

  it('accepts a device with its secret and the platform account; refuses a wrong secret', async () => {
    expect(await connects('wb-mosq', 'wb-mosq', secret)).toBe(true);
    expect(await connects('ccm-x', 'ccm-platform', 'platform-password-123')).toBe(true);
    expect(await connects('wb-mosq', 'wb-mosq', 'wrong')).toBe(false);
  });

  it('delivers a device’s own fix to the platform and drops one under another id', async () => {
    const platform = await mqtt.connectAsync(broker.url, {
      clientId: 'ccm-p',
      username: 'ccm-platform',
      password: 'platform-password-123',
    });
    const got: string[] = [];
    platform.on('message', (topic) => got.push(topic));
    await platform.subscribeAsync('ccm/v1/dev/+/fix', { qos: 1 });
    const device = new DeviceClient({ url: broker.url, deviceId: 'wb-mosq', secret });
    await device.connect();
    device.sendFixes([{ t: Date.now(), lat: 22.8, lon: 108.3, acc: 5, src: 'gnss' }]);
    await device.publishRaw('ccm/v1/dev/wb-mosq-2/fix', '{"seq":1,"fixes":[]}');
    await expect.poll(() => got).toContain('ccm/v1/dev/wb-mosq/fix');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).not.toContain('ccm/v1/dev/wb-mosq-2/fix');
    await device.close();
    await platform.endAsync();
  });
});
