import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '@ccm/db';
import { migrate } from '@ccm/migrations';
import { DeviceClient } from '@ccm/simulators';
import {
  createPostgresDatabase,
  seedMonitoredDevice,
  startMosquitto,
  waitFor,
  type MosquittoProcess,
} from '@ccm/test-support';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** kill -9 of the gateway process mid-stream loses nothing and duplicates nothing. */
describe('gateway killed with SIGKILL mid-stream', () => {
  let broker: MosquittoProcess;
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let db: Database;
  let child: ChildProcess | undefined;
  let output = '';

  function startGatewayProcess(): ChildProcess {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'device-gateway/src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: created.url,
        MQTT_URL: broker.url,
        MQTT_SHARED_GROUP: 'ccm-gateway',
        LOG_LEVEL: 'info',
        GATEWAY_MAX_BATCH_DELAY_MS: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    return proc;
  }

  async function ready(proc: ChildProcess) {
    const from = output.length;
    await waitFor(
      () => output.slice(from).includes('gateway ready') || proc.exitCode !== null,
      30_000,
      'gateway ready',
    );
    if (proc.exitCode !== null) throw new Error(`gateway exited: ${output}`);
  }

  beforeAll(async () => {
    broker = await startMosquitto();
    created = await createPostgresDatabase();
    db = openPostgres({ url: created.url, poolSize: 2 });
    await migrate(db);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await db?.close();
    await created?.drop();
    await broker?.stop();
  });

  it('every fix of a contract-following device is stored exactly once', async () => {
    const seeded = await seedMonitoredDevice(db.db, { deviceId: 'wb-kill' });
    child = startGatewayProcess();
    await ready(child);
    // Re-send after 1.5 s without an ack instead of the contract's 30 s, to keep the test short.
    const device = new DeviceClient({ url: broker.url, deviceId: 'wb-kill', resendAfterMs: 1500 });
    await device.connect();
    const base = Date.now() - 3_600_000;
    let sent = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < 5; k++) {
        device.sendFixes([
          { t: base + sent * 1000, lat: 22.8 + sent * 1e-6, lon: 108.3, acc: 6, src: 'gnss' },
        ]);
        sent++;
      }
    }, 10);
    try {
      await waitFor(() => device.ackedSeq > 300, 20_000, 'first acks');
      const killed = child;
      killed.kill('SIGKILL');
      await new Promise<void>((resolve) => killed.once('exit', () => resolve()));
      const ackedAtKill = device.ackedSeq;
      await new Promise((r) => setTimeout(r, 1500)); // the stream goes on with no gateway
      child = startGatewayProcess();
      await ready(child);
      await new Promise((r) => setTimeout(r, 2000));
      clearInterval(timer);
      await device.waitAcked(device.nextSeq - 1, 60_000);
      expect(ackedAtKill).toBeLessThan(device.nextSeq - 1);
      const { n, distinct } = await db.db
        .selectFrom('fixes')
        .select((eb) => [
          eb.fn.countAll<number>().as('n'),
          eb.fn.count<number>('t').distinct().as('distinct'),
        ])
        .where('device_no', '=', seeded.deviceNo)
        .executeTakeFirstOrThrow();
      expect(n).toBe(sent);
      expect(distinct).toBe(sent);
      expect(device.unacked).toBe(0);
    } finally {
      clearInterval(timer);
      await device.close();
    }
  });
});
