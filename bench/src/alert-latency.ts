/**
 * Fix-to-alert latency (issue #8, item 3): from the publish of a violating fix to the alert
 * arriving on a signed-in officer's WebSocket (`/api/v1/stream?token=`), with the whole
 * platform (server/src/main.ts → startPlatform, gateway on) in its own process on a private
 * Mosquitto and a fresh PostgreSQL database, under a steady background load of fixes.
 *
 * Probe subjects each have an exclusion zone (a 60 m circle at home, confirm after 1 fix, no
 * buffer). A probe device walks out → in → out … with a fix every 2 s (fix time = now; 120 m
 * hops, plausible at the engine's 70 m/s limit): every "in" opens an alert (measured), every
 * "out" ends it. Probes are staggered over the cycle, so violations arrive evenly.
 *
 *   node --import tsx bench/src/alert-latency.ts [--quick]
 */
import WebSocket from 'ws';
import { startBenchBroker } from './lib/broker';
import { Fleet } from './lib/fleet';
import { WireClient } from './lib/mqtt-wire';
import { cpuSeconds, watchRss } from './lib/procstat';
import { createUsers, signIn, startPlatformChild } from './lib/platform';
import { log, percentile, round, sleep, table, writeResult } from './lib/report';
import { createBenchDatabase, seedFleet } from './lib/seed';

export interface AlertSettings {
  quick: boolean;
  backgroundDevices: number;
  backgroundFixesPerSecond: number;
  probes: number;
  warmupS: number;
  measureS: number;
}

export const alertSettings = (quick: boolean): AlertSettings =>
  quick
    ? {
        quick,
        backgroundDevices: 2_000,
        backgroundFixesPerSecond: 2_000,
        probes: 50,
        warmupS: 3,
        measureS: 6,
      }
    : {
        quick,
        backgroundDevices: 5_000,
        backgroundFixesPerSecond: 5_000,
        probes: 200,
        // At 5,000 fixes/s the first fix of each of the 5,000 devices loads its subject's
        // engine state (and window) from the database, so the platform starts behind: after
        // a 15 s warm-up, the first 10 s of round 7's window were still that backlog
        // draining (787 ms falling to ~100) and decided its p99.
        warmupS: 60,
        measureS: 60,
      };

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;
const STEP_MS = 2_000;
const SLOW_MS = 80;
const ZONE_RADIUS_M = 60;
const OUT_OFFSET_M = 120;

export interface AlertResult {
  settings: AlertSettings;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  violationsPublished: number;
  alertsMissing: number;
  backgroundFixesPerSecond: number;
  backgroundAckP50Ms: number;
  backgroundAckP99Ms: number;
  platformCores: number;
  platformRssPeakMiB: number;
  /** Samples of at least SLOW_MS: when their violation was published, s into the window. */
  slowSamples: { atS: number; ms: number }[];
  /** The window in 10 s parts, by when the violation was published: steady, or draining? */
  segments: { fromS: number; samples: number; p50Ms: number; p99Ms: number }[];
}

export async function runAlertLatency(s: AlertSettings): Promise<AlertResult> {
  const broker = await startBenchBroker();
  const db = await createBenchDatabase(2);
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // Background devices in townships 001…; probes in a township of their own (900), where
    // the officer works: the officer's stream carries only the probes' positions and alerts.
    const bg = await seedFleet(db.pg, { count: s.backgroundDevices, prefix: 'bg' });
    const probe = await seedFleet(db.pg, { count: s.probes, prefix: 'pr', firstTownship: 900 });
    const { rows: probeRows } = await db.pg.query<{ device_id: string; subject_id: string }>(
      `SELECT device_id, subject_id FROM monitoring_orders WHERE device_id LIKE 'pr%' ORDER BY device_id`,
    );
    const homes = probeRows.map((_, i) => ({
      lon: 108.3 + (i % 20) * 0.01,
      lat: 22.8 + Math.floor(i / 20) * 0.01,
    }));
    await db.pg.query(
      `WITH z AS (
         INSERT INTO zones (name, kind, purpose, geometry, min_lon, min_lat, max_lon, max_lat,
                            buffer_m, confirm_fixes, confirm_seconds, jurisdiction_code)
         SELECT '基准禁止区域 ' || i, 'exclusion', 'prohibited',
                jsonb_build_object('type', 'Circle', 'center', jsonb_build_array(lon, lat), 'radiusM', ${ZONE_RADIUS_M}),
                lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001, 0, 1, 0, $3
         FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(lon, lat, i)
         RETURNING id, name)
       INSERT INTO zone_assignments (subject_id, zone_id)
       SELECT s.id, z.id FROM z JOIN unnest($4::uuid[]) WITH ORDINALITY AS s(id, i)
         ON z.name = '基准禁止区域 ' || s.i`,
      [
        homes.map((h) => h.lon),
        homes.map((h) => h.lat),
        probe.townships[0],
        probeRows.map((r) => r.subject_id),
      ],
    );
    await createUsers(db.pg, [
      { username: 'bench-officer', role: 'officer', jurisdiction: probe.townships[0]! },
    ]);

    log(
      `alert latency: platform with gateway, ${s.probes} probes, background ${s.backgroundFixesPerSecond.toLocaleString()} fixes/s`,
    );
    const platform = await startPlatformChild({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      gateway: true,
    });
    closers.push(() => platform.stop());
    const rss = watchRss(platform.child.pid);
    closers.push(async () => rss.stop());
    const token = await signIn(platform.httpUrl, 'bench-officer');

    // The officer's live stream.
    const subjectOf = new Map(probeRows.map((r, i) => [r.subject_id, i]));
    const pendingViolation = new Map<number, number>(); // probe → publish time (performance.now)
    // Every sample, with when its violation was published (s into the measured window).
    const timeline: { atS: number; ms: number }[] = [];
    let t0 = 0;
    let measuring = false;
    const ws = new WebSocket(
      `${platform.httpUrl.replace('http', 'ws')}/api/v1/stream?token=${token}`,
    );
    closers.push(async () => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as {
          type: string;
          alert?: { subjectId?: string; type?: string };
        };
        if (m.type === 'ready') resolve();
        if (m.type !== 'alert' || !m.alert?.subjectId) return;
        const p = subjectOf.get(m.alert.subjectId);
        if (p === undefined) return;
        const sent = pendingViolation.get(p);
        if (sent === undefined) return;
        pendingViolation.delete(p);
        if (!measuring) return;
        const ms = performance.now() - sent;
        timeline.push({ atS: (sent - t0) / 1000, ms });
      });
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`stream closed: ${code}`)));
    });

    // Background load.
    const fleet = new Fleet({
      url: broker.url,
      deviceIds: bg.deviceIds,
      connections: 2,
      fixesPerMessage: 1,
      trackAcks: true,
    });
    closers.push(() => fleet.close());
    await fleet.connect();
    fleet.runRate(s.backgroundFixesPerSecond);

    // Probes: one connection, each device on its own topic with its own seq.
    const probeConn = new WireClient(broker.url, `bench-probes-${process.pid}`);
    await probeConn.connect();
    closers.push(() => probeConn.end());
    const seq = new Array<number>(s.probes).fill(0);
    const lastT = new Array<number>(s.probes).fill(0);
    const inside = new Array<boolean>(s.probes).fill(false);
    let violationsPublished = 0;
    let missing = 0;
    const step = (p: number) => {
      const home = homes[p]!;
      const goIn = !inside[p];
      if (goIn && pendingViolation.has(p)) {
        // The previous violation's alert never came: count it, do not wait for it.
        if (measuring) missing++;
        pendingViolation.delete(p);
      }
      const eastM = goIn ? 0 : OUT_OFFSET_M;
      const lon = home.lon + eastM / (M_PER_DEG * Math.cos((home.lat * Math.PI) / 180));
      const t = Math.max(lastT[p]! + 1, Date.now());
      lastT[p] = t;
      const body = `{"seq":${++seq[p]!},"fixes":[{"t":${t},"lat":${home.lat.toFixed(6)},"lon":${lon.toFixed(6)},"acc":10,"src":"gnss","sat":9}]}`;
      probeConn.publish(`ccm/v1/dev/${probeRows[p]!.device_id}/fix`, body, 1);
      probeConn.flush();
      if (goIn) {
        pendingViolation.set(p, performance.now());
        if (measuring) violationsPublished++;
      }
      inside[p] = goIn;
    };
    // Start every probe outside, then step each every STEP_MS, staggered over the cycle.
    for (let p = 0; p < s.probes; p++) {
      inside[p] = true;
      step(p); // → outside
    }
    await sleep(STEP_MS);
    const timers: NodeJS.Timeout[] = [];
    for (let p = 0; p < s.probes; p++) {
      const offset = Math.floor(((2 * STEP_MS) / s.probes) * p);
      timers.push(
        setTimeout(() => {
          step(p);
          timers.push(setInterval(() => step(p), STEP_MS));
        }, offset),
      );
    }
    closers.push(async () => timers.forEach((t) => clearInterval(t)));

    await sleep(s.warmupS * 1000);
    measuring = true;
    const cpu0 = cpuSeconds(platform.child.pid);
    const acked0 = fleet.ackedFixes;
    fleet.ackLatencies = [];
    t0 = performance.now();
    await sleep(s.measureS * 1000);
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (cpuSeconds(platform.child.pid) - cpu0) / seconds;
    const bgRate = (fleet.ackedFixes - acked0) / seconds;
    const bgLat = [...fleet.ackLatencies].sort((a, b) => a - b);
    if (fleet.failed) throw fleet.failed;
    // Violations published in the last moments may still be on their way.
    await sleep(2_000);
    const sorted = timeline.map((x) => x.ms).sort((a, b) => a - b);
    return {
      settings: s,
      samples: sorted.length,
      p50Ms: round(percentile(sorted, 50), 1),
      p95Ms: round(percentile(sorted, 95), 1),
      p99Ms: round(percentile(sorted, 99), 1),
      maxMs: round(sorted.at(-1) ?? NaN, 1),
      meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length), 1),
      violationsPublished,
      alertsMissing: missing,
      backgroundFixesPerSecond: Math.round(bgRate),
      backgroundAckP50Ms: Math.round(percentile(bgLat, 50)),
      backgroundAckP99Ms: Math.round(percentile(bgLat, 99)),
      platformCores: round(cpu),
      platformRssPeakMiB: Math.round(rss.peak()),
      // The slow ones, in arrival order: stalls come in clusters.
      slowSamples: timeline
        .filter((x) => x.ms >= SLOW_MS)
        .map((x) => ({ atS: round(x.atS, 2), ms: round(x.ms, 1) })),
      segments: segmentsOf(timeline, s.measureS),
    };
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // best effort
      }
    }
    await db.drop();
    await broker.stop();
  }
}

const SEGMENT_S = 10;

function segmentsOf(
  timeline: readonly { atS: number; ms: number }[],
  measureS: number,
): AlertResult['segments'] {
  const out: AlertResult['segments'] = [];
  for (let from = 0; from < measureS; from += SEGMENT_S) {
    const part = timeline
      .filter((x) => x.atS >= from && x.atS < from + SEGMENT_S)
      .map((x) => x.ms)
      .sort((a, b) => a - b);
    out.push({
      fromS: from,
      samples: part.length,
      p50Ms: round(percentile(part, 50), 1),
      p99Ms: round(percentile(part, 99), 1),
    });
  }
  return out;
}

export function printAlert(r: AlertResult) {
  console.log(
    `\nFix-to-alert latency (publish → alert on the officer's WebSocket), ${r.settings.probes} probes, background ${r.settings.backgroundFixesPerSecond.toLocaleString()} fixes/s target:`,
  );
  console.log(
    table([
      {
        samples: r.samples,
        'p50 ms': r.p50Ms,
        'p95 ms': r.p95Ms,
        'p99 ms': r.p99Ms,
        'max ms': r.maxMs,
        'mean ms': r.meanMs,
        'alerts missing': r.alertsMissing,
        'background fixes/s': r.backgroundFixesPerSecond,
        'bg ack p99 ms': r.backgroundAckP99Ms,
        'platform cores': r.platformCores,
        'platform RSS MiB': r.platformRssPeakMiB,
      },
    ]),
  );
  console.log(
    `by ${SEGMENT_S} s of the window (p50 / p99 ms): ` +
      r.segments
        .map((g) => `${g.fromS}–${g.fromS + SEGMENT_S} s ${g.p50Ms} / ${g.p99Ms}`)
        .join(', '),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const settings = alertSettings(process.argv.includes('--quick'));
  const bg = process.argv.find((a) => a.startsWith('--background='));
  if (bg) settings.backgroundFixesPerSecond = Number(bg.slice('--background='.length));
  const r = await runAlertLatency(settings);
  printAlert(r);
  console.log(writeResult('alert-latency', { measuredAt: new Date().toISOString(), ...r }));
}
