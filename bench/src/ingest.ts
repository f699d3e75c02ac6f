/**
 * Broker pass-through baseline and end-to-end ingestion (issue #8, items 1 and 2).
 *
 * For each fleet size and message shape (1 fix or 10 fixes per message), on a private
 * Mosquitto started from deploy/mosquitto/mosquitto.bench.conf:
 *   pass-through — the same publisher fleet, closed loop, into a bare mqtt.js subscriber in
 *                  its own process that only JSON.parses: QoS 1 messages/s the broker passes;
 *   ingestion    — the real gateway (`device-gateway/src/main.ts`, its own process, shared
 *                  subscription) on a fresh PostgreSQL database: fixes/s from publish to
 *                  committed row, counted by the platform's `ack`s coming back; then a drain
 *                  and a row count per device against what was published and acknowledged.
 * The gateway's CPU (/proc) and peak RSS, and the CPU of the broker, of the database
 * backends serving the gateway and of the load generator are reported for the same window.
 *
 *   node --import tsx bench/src/ingest.ts [--quick] [--profile]
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { startBenchBroker, type BenchBroker } from './lib/broker';
import { startChild } from './lib/child';
import { mainThreadProfile, summarizeProfile } from './lib/cpuprofile';
import { Fleet } from './lib/fleet';
import { cpuOfChanging, cpuSeconds, machineCpu, watchRss } from './lib/procstat';
import { log, percentile, REPO, RESULTS_DIR, round, sleep, table, writeResult } from './lib/report';
import { samplePostgres } from './lib/pg-sampler';
import { backendPids, benchDeviceId, createBenchDatabase, seedFleet } from './lib/seed';

export interface IngestSettings {
  quick: boolean;
  profile: boolean;
  /** Diagnostic: run the gateway with its rules engine off (lib/gateway-engine-off.ts). */
  engineOff?: boolean;
  fleets: number[];
  shapes: number[];
  warmupS: number;
  measureS: number;
  passWarmupS: number;
  passMeasureS: number;
  connections: number;
  /** Outstanding messages of the closed loop, instead of `defaultWindow` (`--window=N`). */
  window?: number;
}

export function ingestSettings(quick: boolean, profile = false): IngestSettings {
  return quick
    ? {
        quick,
        profile,
        fleets: [5_000],
        shapes: [1, 10],
        warmupS: 3,
        measureS: 5,
        passWarmupS: 1,
        passMeasureS: 3,
        connections: 4,
      }
    : {
        quick,
        profile,
        fleets: [5_000, 50_000],
        shapes: [1, 10],
        warmupS: 15,
        measureS: 60,
        passWarmupS: 5,
        passMeasureS: 20,
        connections: 4,
      };
}

/**
 * Outstanding messages the closed loop keeps (published, not yet acknowledged): enough that
 * the gateway always has its next batch queued, so what comes back is its capacity, not the
 * loop's round trip. Measured on round 9's machine (5,000 devices, 30 s each, fixes/s and
 * ack p50): single fixes 6,000 → 21,628 (276 ms), 10,000 → 24,646 (404 ms), 15,000 → 24,160
 * (619 ms); 10-fix messages 750 → 73,510 (99 ms), 1,500 → 78,962 (209 ms), 3,000 → 100,449
 * (303 ms), 4,500 → 106,771 (428 ms), 6,000 → 110,003 (542 ms). Past these windows only the
 * queueing delay grows (Little's law); on a slower machine they only add delay. Either is far
 * inside the contract's 30 s re-send period.
 */
const defaultWindow = (fixesPerMessage: number) => (fixesPerMessage === 1 ? 10_000 : 4_500);
const windowFor = (s: IngestSettings, fixesPerMessage: number) =>
  s.window ?? defaultWindow(fixesPerMessage);
const perDeviceFor = (window: number, devices: number) =>
  Math.max(2, Math.ceil((2 * window) / devices));

export interface PassThroughResult {
  devices: number;
  fixesPerMessage: number;
  messagesPerSecond: number;
  fixesPerSecond: number;
  payloadBytes: number;
  brokerCores: number;
  subscriberCores: number;
  publisherCores: number;
  /** QoS 1 messages the broker dropped in this phase ($SYS counter; must be 0). */
  brokerDropped: number | null;
}

async function measurePassThrough(
  broker: BenchBroker,
  devices: number,
  fixesPerMessage: number,
  s: IngestSettings,
): Promise<PassThroughResult> {
  const sub = fork(join(REPO, 'bench/src/lib/bare-subscriber.ts'), [broker.url], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let received = 0;
  let bytes = 0;
  let fleet: Fleet | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    sub.on('message', (m: { type: string; received?: number; bytes?: number }) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'count') {
        received = m.received ?? received;
        bytes = m.bytes ?? bytes;
        fleet?.kick();
      }
    });
    sub.once('exit', (code) => reject(new Error(`bare subscriber exited (${code})`)));
  });
  try {
    await ready;
    const ids = Array.from({ length: devices }, (_, i) => benchDeviceId('bp', i + 1));
    fleet = new Fleet({
      url: broker.url,
      deviceIds: ids,
      connections: s.connections,
      fixesPerMessage,
      trackAcks: false,
    });
    await fleet.connect();
    const f = fleet;
    f.runClosed(windowFor(s, fixesPerMessage), Infinity, () => f.publishedMessages - received);
    await sleep(s.passWarmupS * 1000);
    const start = snapshot(broker.pid, sub.pid!);
    const r0 = received;
    const b0 = bytes;
    await sleep(s.passMeasureS * 1000);
    const end = snapshot(broker.pid, sub.pid!);
    const seconds = (end.t - start.t) / 1000;
    const n = received - r0;
    f.pause();
    if (f.failed) throw f.failed;
    await f.close();
    return {
      devices,
      fixesPerMessage,
      messagesPerSecond: Math.round(n / seconds),
      fixesPerSecond: Math.round((n * fixesPerMessage) / seconds),
      payloadBytes: Math.round((bytes - b0) / Math.max(1, n)),
      brokerCores: round((end.broker - start.broker) / seconds),
      subscriberCores: round((end.other - start.other) / seconds),
      publisherCores: round((end.self - start.self) / seconds),
      brokerDropped: null, // read by runIngest once the phase is over
    };
  } finally {
    sub.send({ type: 'stop' });
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        sub.kill('SIGKILL');
        resolve();
      }, 5000);
      sub.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function snapshot(brokerPid: number, otherPid: number) {
  const u = process.cpuUsage();
  return {
    t: performance.now(),
    broker: cpuSeconds(brokerPid),
    other: cpuSeconds(otherPid),
    self: (u.user + u.system) / 1e6,
    machine: machineCpu().busy,
  };
}

export interface IngestResult {
  devices: number;
  fixesPerMessage: number;
  /** Outstanding messages the closed loop kept. */
  window: number;
  seconds: number;
  fixesPerSecond: number;
  messagesPerSecond: number;
  /** Slowest and fastest whole second of the measured window, fixes/s. */
  minSecond: number;
  maxSecond: number;
  ackLatencyP50Ms: number;
  ackLatencyP99Ms: number;
  gatewayCores: number;
  gatewayRssPeakMiB: number;
  brokerCores: number;
  postgresCores: number;
  publisherCores: number;
  machineBusyCores: number;
  published: number;
  stored: number;
  lost: number;
  duplicated: number;
  devicesNotFullyAcked: number;
  resentMessages: number;
  /** QoS 1 messages the broker dropped during this phase ($SYS counter; must be 0). */
  brokerDropped?: number | null;
  drainSeconds: number;
  /** Fixes acknowledged in each second of the measured window. */
  perSecond: number[];
  profile?: ReturnType<typeof summarizeProfile>;
  /** Share of samples in which a gateway backend was doing this (profile mode). */
  pgActivity?: { what: string; statement: string; share: number }[];
}

async function measureIngestion(
  broker: BenchBroker,
  devices: number,
  fixesPerMessage: number,
  s: IngestSettings,
): Promise<IngestResult> {
  const db = await createBenchDatabase(2);
  try {
    const { deviceIds } = await seedFleet(db.pg, { count: devices });
    // One directory per case: --cpu-prof writes a profile per thread (tsx's loader is one).
    const profileDir = join(
      RESULTS_DIR,
      'profiles',
      `gateway-${devices}x${fixesPerMessage}-${Date.now()}`,
    );
    const gateway = await startChild({
      entry: s.engineOff ? 'bench/src/lib/gateway-engine-off.ts' : 'device-gateway/src/main.ts',
      env: {
        DATABASE_URL: db.url,
        MQTT_URL: broker.url,
        MQTT_SHARED_GROUP: 'ccm-gateway',
        LOG_LEVEL: 'info',
      },
      readyWhen: /gateway ready/,
      nodeArgs: s.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    const rss = watchRss(gateway.pid);
    const fleet = new Fleet({
      url: broker.url,
      deviceIds,
      connections: s.connections,
      fixesPerMessage,
      trackAcks: true,
    });
    let result: IngestResult;
    try {
      await fleet.connect();
      const window = windowFor(s, fixesPerMessage);
      fleet.runClosed(window, perDeviceFor(window, devices));
      await sleep(s.warmupS * 1000);
      const pgCpu = await cpuOfChanging(() => backendPids(db.pg));
      const sampler = s.profile ? samplePostgres(db.pg) : undefined;
      const start = snapshot(broker.pid, gateway.pid);
      const acked0 = fleet.ackedFixes;
      const msgs0 = fleet.ackedMessages;
      fleet.ackLatencies = [];
      const perSecond: number[] = [];
      let last = acked0;
      for (let i = 0; i < s.measureS; i++) {
        await sleep(1000);
        perSecond.push(fleet.ackedFixes - last);
        last = fleet.ackedFixes;
        if (fleet.failed) throw fleet.failed;
      }
      const end = snapshot(broker.pid, gateway.pid);
      const pgSeconds = await pgCpu();
      const pgActivity = await sampler?.stop();
      const seconds = (end.t - start.t) / 1000;
      const fixes = fleet.ackedFixes - acked0;
      const messages = fleet.ackedMessages - msgs0;
      const latencies = [...fleet.ackLatencies].sort((a, b) => a - b);
      fleet.pause();
      const drainStart = performance.now();
      const drained = await fleet.drain(90_000);
      const drainSeconds = (performance.now() - drainStart) / 1000;
      if (!drained) log(`  not drained: ${fleet.unacked} messages still unacknowledged`);
      // Count what is stored against what was published, per device.
      const { rows } = await db.pg.query<{ id: string; n: number }>(
        `SELECT d.id, count(f.device_no)::int AS n FROM devices d LEFT JOIN fixes f ON f.device_no = d.no GROUP BY d.id`,
      );
      const index = new Map(deviceIds.map((id, i) => [id, i]));
      let lost = 0;
      let duplicated = 0;
      let stored = 0;
      for (const r of rows) {
        const i = index.get(r.id);
        if (i === undefined) continue;
        const published = fleet.publishedFixesPerDevice[i]!;
        stored += r.n;
        if (r.n < published) lost += published - r.n;
        if (r.n > published) duplicated += r.n - published;
      }
      result = {
        devices,
        fixesPerMessage,
        window,
        seconds: round(seconds, 1),
        fixesPerSecond: Math.round(fixes / seconds),
        messagesPerSecond: Math.round(messages / seconds),
        minSecond: Math.min(...perSecond),
        maxSecond: Math.max(...perSecond),
        ackLatencyP50Ms: Math.round(percentile(latencies, 50)),
        ackLatencyP99Ms: Math.round(percentile(latencies, 99)),
        gatewayCores: round((end.other - start.other) / seconds),
        gatewayRssPeakMiB: Math.round(rss.peak()),
        brokerCores: round((end.broker - start.broker) / seconds),
        postgresCores: round(pgSeconds / seconds),
        publisherCores: round((end.self - start.self) / seconds),
        machineBusyCores: round((end.machine - start.machine) / seconds),
        published: fleet.publishedFixes,
        stored,
        lost,
        duplicated,
        devicesNotFullyAcked: fleet.unackedDevices(),
        resentMessages: fleet.resentMessages,
        drainSeconds: round(drainSeconds, 1),
        perSecond,
        ...(pgActivity ? { pgActivity } : {}),
      };
    } finally {
      rss.stop();
      await fleet.close();
      const code = await gateway.stop();
      if (code !== 0) log(`  gateway exited with ${code}:\n${gateway.tail()}`);
    }
    if (s.profile) {
      const file = mainThreadProfile(profileDir);
      if (file) result.profile = summarizeProfile(file);
    }
    return result;
  } finally {
    await db.drop();
  }
}

export interface IngestReport {
  settings: IngestSettings;
  passThrough: PassThroughResult[];
  ingestion: (IngestResult & { ratioToPassThrough: number })[];
}

export async function runIngest(s: IngestSettings): Promise<IngestReport> {
  const passThrough: PassThroughResult[] = [];
  const ingestion: IngestReport['ingestion'] = [];
  for (const devices of s.fleets) {
    for (const fpm of s.shapes) {
      // A fresh broker per case: no queues or sessions left over from the previous one.
      const broker = await startBenchBroker();
      try {
        log(`pass-through: ${devices.toLocaleString()} devices, ${fpm} fix(es)/message`);
        const pass = await measurePassThrough(broker, devices, fpm, s);
        // $SYS is published every 5 s: wait for a value that covers the whole phase.
        await sleep(5_500);
        const droppedBefore = await broker.dropped();
        pass.brokerDropped = droppedBefore;
        passThrough.push(pass);
        log(`  ${pass.messagesPerSecond.toLocaleString()} messages/s`);
        if (droppedBefore) log(`  broker dropped ${droppedBefore} messages (pass-through)!`);
        log(`ingestion: ${devices.toLocaleString()} devices, ${fpm} fix(es)/message`);
        const r = await measureIngestion(broker, devices, fpm, s);
        await sleep(5_500);
        const droppedAfter = await broker.dropped();
        const dropped =
          droppedAfter === null || droppedBefore === null ? null : droppedAfter - droppedBefore;
        if (dropped) log(`  broker dropped ${dropped} messages (ingestion)!`);
        ingestion.push({
          ...r,
          brokerDropped: dropped,
          ratioToPassThrough: round(r.messagesPerSecond / pass.messagesPerSecond, 3),
        });
        log(
          `  ${r.fixesPerSecond.toLocaleString()} fixes/s, lost ${r.lost}, duplicated ${r.duplicated}`,
        );
      } finally {
        await broker.stop();
      }
    }
  }
  return { settings: s, passThrough, ingestion };
}

export function printIngest(report: IngestReport) {
  console.log('\nBroker pass-through (bare mqtt.js subscriber, JSON.parse only, QoS 1):');
  console.log(
    table(
      report.passThrough.map((p) => ({
        devices: p.devices,
        'fixes/msg': p.fixesPerMessage,
        'msg bytes': p.payloadBytes,
        'messages/s': p.messagesPerSecond,
        'fixes/s': p.fixesPerSecond,
        'broker cores': p.brokerCores,
        'subscriber cores': p.subscriberCores,
        'publisher cores': p.publisherCores,
        'broker dropped': p.brokerDropped ?? '?',
      })),
    ),
  );
  console.log('\nEnd-to-end ingestion (publish → committed row → ack back):');
  console.log(
    table(
      report.ingestion.map((r) => ({
        devices: r.devices,
        'fixes/msg': r.fixesPerMessage,
        window: r.window,
        'fixes/s': r.fixesPerSecond,
        'messages/s': r.messagesPerSecond,
        'ratio to pass-through (msg/s)': r.ratioToPassThrough,
        'slowest s': r.minSecond,
        'ack p50 ms': r.ackLatencyP50Ms,
        'ack p99 ms': r.ackLatencyP99Ms,
        'gateway cores': r.gatewayCores,
        'gateway RSS MiB': r.gatewayRssPeakMiB,
        'postgres cores': r.postgresCores,
        'broker cores': r.brokerCores,
        'load-gen cores': r.publisherCores,
        'machine busy cores': r.machineBusyCores,
      })),
    ),
  );
  console.log(
    table(
      report.ingestion.map((r) => ({
        devices: r.devices,
        'fixes/msg': r.fixesPerMessage,
        'published fixes': r.published,
        'stored rows': r.stored,
        lost: r.lost,
        duplicated: r.duplicated,
        'devices not fully acked': r.devicesNotFullyAcked,
        're-sent messages': r.resentMessages,
        'broker dropped': r.brokerDropped ?? '?',
        'drain s': r.drainSeconds,
      })),
    ),
  );
  for (const r of report.ingestion) {
    if (!r.profile) continue;
    if (r.pgActivity) {
      console.log(
        `\nDatabase backends of the gateway, ${r.devices} devices × ${r.fixesPerMessage} fix/msg (share of samples):`,
      );
      console.log(
        table(r.pgActivity.map((a) => ({ doing: a.what, statement: a.statement, share: a.share }))),
      );
    }
    console.log(`\nGateway CPU profile, ${r.devices} devices × ${r.fixesPerMessage} fix/msg:`);
    console.log(
      table(Object.entries(r.profile.areas).map(([k, v]) => ({ area: k, '% samples': v }))),
    );
    console.log(
      table(
        r.profile.hot.map((h) => ({ function: h.function, where: h.where, 'self %': h.selfPct })),
      ),
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const settings = ingestSettings(quick, process.argv.includes('--profile'));
  const only = process.argv.find((a) => a.startsWith('--devices='));
  if (only) settings.fleets = [Number(only.slice('--devices='.length))];
  const shape = process.argv.find((a) => a.startsWith('--fixes='));
  if (shape) settings.shapes = [Number(shape.slice('--fixes='.length))];
  settings.engineOff = process.argv.includes('--engine-off');
  const secs = process.argv.find((a) => a.startsWith('--seconds='));
  if (secs) settings.measureS = Number(secs.slice('--seconds='.length));
  const window = process.argv.find((a) => a.startsWith('--window='));
  if (window) settings.window = Number(window.slice('--window='.length));
  const report = await runIngest(settings);
  printIngest(report);
  console.log(writeResult('ingest', { measuredAt: new Date().toISOString(), ...report }));
}
