import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '@ccm/test-support';
import { REPO } from './report';

/**
 * A private Mosquitto for one benchmark run, started from a copy of the shipped benchmark
 * config (deploy/mosquitto/mosquitto.bench.conf: QoS 1 never dropped for a slow subscriber)
 * with only the listener moved to a free port. The system Mosquitto on 1883 is never used.
 */
export interface BenchBroker {
  url: string;
  pid: number;
  /**
   * `$SYS/broker/publish/messages/dropped` (must stay 0): the latest value a subscriber held
   * since the start has seen, or null if the broker has published none.
   */
  dropped(): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startBenchBroker(): Promise<BenchBroker> {
  const source = join(REPO, 'deploy/mosquitto/mosquitto.bench.conf');
  const port = await freePort();
  const text = readFileSync(source, 'utf8');
  if (!/^listener 18830 127\.0\.0\.1$/m.test(text)) {
    throw new Error(`${source}: expected the line "listener 18830 127.0.0.1"`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ccm-bench-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, text.replace(/^listener 18830 127\.0\.0\.1$/m, `listener ${port} 127.0.0.1`));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (log.length < 20_000) log += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mosquitto did not start on port ${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `mqtt://127.0.0.1:${port}`;
  // One subscriber for the broker's life: it sees every change of the counter (a client that
  // connected later, long after the last change, could wait in vain for a publish).
  let dropped: number | null = null;
  const sys = await mqtt.connectAsync(url, { clientId: `bench-sys-${process.pid}-${port}` });
  sys.on('message', (_topic, payload) => {
    dropped = Number(payload.toString());
  });
  await sys.subscribeAsync('$SYS/broker/publish/messages/dropped');
  return {
    url,
    pid: child.pid!,
    dropped() {
      return Promise.resolve(dropped);
    },
    async stop() {
      await sys.endAsync(true);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      if (log.trim()) process.stderr.write(`mosquitto log:\n${log}\n`);
    },
  };
}
