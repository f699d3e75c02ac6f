/**
 * HTTP API throughput (issue #8, item 6): latest positions, a subject's track and the police
 * position query, with N concurrent keep-alive HTTP clients against the platform
 * (server/src/main.ts, gateway off) on a fresh PostgreSQL database holding `subjects`
 * subjects with monitoring orders and a week of fixes.
 *
 * autocannon is not installed in this project, so the client is Node's own `http` with a
 * keep-alive agent and N request loops (the same closed-loop model as autocannon -c N).
 * Fixes are inserted in bulk by the gateway's insert (INSERT … SELECT FROM unnest): the
 * subjects whose tracks are read have one fix a minute for the whole window; the others one
 * an hour (a full week at one a minute for 50,000 subjects is 504 million rows, ~85 GB:
 * more than this machine's benchmark budget; what a track query costs depends on the rows
 * of that subject, which are real).
 *
 *   node --import tsx bench/src/api.ts [--quick] [--profile]
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { emptyPlan, persistPlan } from '@ccm/device-gateway';
import { startBenchBroker } from './lib/broker';
import { createUsers, signIn, startPlatformChild } from './lib/platform';
import { mainThreadProfile, summarizeProfile } from './lib/cpuprofile';
import { cpuOfChanging, cpuSeconds } from './lib/procstat';
import { log, percentile, RESULTS_DIR, round, sleep, table, writeResult } from './lib/report';
import { backendPids, createBenchDatabase, PER_TOWNSHIP, seedFleet } from './lib/seed';
import { rng, track } from './lib/tracks';

export interface ApiSettings {
  quick: boolean;
  /** The platform under `node --cpu-prof`: its hot functions and time per package. */
  profile?: boolean;
  subjects: number;
  /** Subjects with one fix a minute (the ones whose tracks are read). */
  denseSubjects: number;
  days: number;
  /** Every other subject: one fix every `sparseStride` minutes. */
  sparseStride: number;
  connections: number;
  warmupS: number;
  measureS: number;
}

export const apiSettings = (quick: boolean): ApiSettings =>
  quick
    ? {
        quick,
        subjects: 5_000,
        denseSubjects: 100,
        days: 2,
        sparseStride: 60,
        connections: 8,
        warmupS: 1,
        measureS: 3,
      }
    : {
        quick,
        subjects: 50_000,
        denseSubjects: 1_000,
        days: 7,
        sparseStride: 60,
        connections: 16,
        warmupS: 3,
        measureS: 20,
      };

interface Call {
  method: 'GET' | 'POST';
  path: string;
  token: string;
  body?: string;
}

export interface ApiCase {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Mean response body, bytes. */
  bytes: number;
  platformCores: number;
  postgresCores: number;
  clientCores: number;
  sample: string;
}

async function hammer(
  base: URL,
  next: (i: number) => Call,
  s: ApiSettings,
  pids: { platform: number; pg: () => Promise<number[]> },
): Promise<Omit<ApiCase, 'name' | 'sample'>> {
  const agent = new Agent({ keepAlive: true, maxSockets: s.connections });
  let stopAt = 0;
  let measuring = false;
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  let count = 0;
  let n = 0;
  const one = (call: Call) =>
    new Promise<{ status: number; size: number }>((resolve, reject) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method: call.method,
          path: call.path,
          agent,
          headers: {
            authorization: `Bearer ${call.token}`,
            ...(call.body ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let size = 0;
          res.on('data', (d: Buffer) => (size += d.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, size }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(call.body);
    });
  const loop = async () => {
    while (performance.now() < stopAt) {
      const call = next(n++);
      const t0 = performance.now();
      try {
        const { status, size } = await one(call);
        if (!measuring) continue;
        latencies.push(performance.now() - t0);
        count++;
        bytes += size;
        if (status >= 300) errors++;
      } catch {
        if (measuring) errors++;
      }
    }
  };
  stopAt = performance.now() + (s.warmupS + s.measureS) * 1000 + 60_000;
  const loops = Array.from({ length: s.connections }, loop);
  await sleep(s.warmupS * 1000);
  // The platform's pool opens connections as the load needs them: read them after warm-up.
  const pgCpu = await cpuOfChanging(pids.pg);
  measuring = true;
  const u0 = process.cpuUsage();
  const p0 = cpuSeconds(pids.platform);
  const t0 = performance.now();
  await sleep(s.measureS * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  const platformCores = (cpuSeconds(pids.platform) - p0) / seconds;
  const postgresCores = (await pgCpu()) / seconds;
  stopAt = 0;
  await Promise.all(loops);
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: round(count / seconds, 1),
    p50Ms: round(percentile(sorted, 50), 1),
    p99Ms: round(percentile(sorted, 99), 1),
    errors,
    bytes: Math.round(bytes / Math.max(1, count)),
    platformCores: round(platformCores),
    postgresCores: round(postgresCores),
    clientCores: round((u.user + u.system) / 1e6 / seconds),
  };
}

export interface ApiResult {
  settings: ApiSettings;
  fixes: number;
  loadSeconds: number;
  fixesTableBytes: number;
  cases: ApiCase[];
  /** The platform's CPU profile over all cases (`--profile`). */
  profile?: ReturnType<typeof summarizeProfile>;
}

export async function runApi(s: ApiSettings): Promise<ApiResult> {
  const broker = await startBenchBroker();
  const db = await createBenchDatabase(4);
  try {
    log(`api: seeding ${s.subjects.toLocaleString()} subjects`);
    const { townships } = await seedFleet(db.pg, { count: s.subjects, prefix: 'ap' });
    const { rows: refs } = await db.pg.query<{
      device_no: number;
      subject_no: number;
      subject_id: string;
    }>(
      `SELECT d.no AS device_no, s.no AS subject_no, s.id AS subject_id
       FROM monitoring_orders o JOIN devices d ON d.id = o.device_id JOIN subjects s ON s.id = o.subject_id
       ORDER BY d.id`,
    );
    // Fixes: the last `days` days up to now, dense for the first subjects, sparse for the rest.
    const minutes = s.days * 1440;
    const fromMs = Math.floor((Date.now() - minutes * 60_000) / 60_000) * 60_000 - 60_000;
    log(
      `api: inserting ${s.days} days of fixes (${s.denseSubjects.toLocaleString()} subjects 1/min, the rest 1/${s.sparseStride} min)`,
    );
    const t0 = performance.now();
    let fixes = 0;
    const latest: {
      deviceNo: number;
      tMs: number;
      latE6: number;
      lonE6: number;
      accDm: number;
      src: number;
    }[] = [];
    let cursor = 0;
    const worker = async () => {
      let pending: ReturnType<typeof track> = [];
      const flush = async () => {
        if (pending.length === 0) return;
        const plan = emptyPlan();
        plan.fixes = pending;
        pending = [];
        // Not `fixes += await …`: that reads `fixes` before the await and loses the other
        // writer's updates.
        const inserted = (await persistPlan(db.database.db, plan)).fixesInserted;
        fixes += inserted;
      };
      for (;;) {
        const i = cursor++;
        if (i >= refs.length) break;
        const ref = refs[i]!;
        const dense = i < s.denseSubjects;
        const rows = track({
          deviceNo: ref.device_no,
          subjectNo: ref.subject_no,
          fromMs,
          count: dense ? minutes : Math.floor(minutes / s.sparseStride),
          stride: dense ? 1 : s.sparseStride,
        });
        const last = rows.at(-1);
        if (last) latest.push(last);
        for (const r of rows) pending.push(r);
        if (pending.length >= 20_000) await flush();
      }
      await flush();
    };
    // The database does the work: two writers keep both cores busy.
    await Promise.all([worker(), worker()]);
    await db.pg.query(
      `INSERT INTO device_state (device_no, last_seen_at, last_fix_t, last_lat_e6, last_lon_e6, last_acc_dm, last_src, online, battery)
       SELECT d, t, t, la, lo, a, src, true, 80
       FROM unnest($1::int4[], $2::timestamptz[], $3::int4[], $4::int4[], $5::int4[], $6::int2[]) AS u(d, t, la, lo, a, src)`,
      [
        latest.map((l) => l.deviceNo),
        latest.map((l) => new Date(l.tMs)),
        latest.map((l) => l.latE6),
        latest.map((l) => l.lonE6),
        latest.map((l) => l.accDm),
        latest.map((l) => l.src),
      ],
    );
    await db.pg.query('VACUUM ANALYZE');
    // The load wrote gigabytes of WAL: without a checkpoint now, the ones it triggers (every
    // ~22 s at the default max_wal_size) run during the first measured cases and slow every
    // commit there (the first case's p99 was 3.6–4.2 s).
    await db.pg.query('CHECKPOINT');
    const loadSeconds = (performance.now() - t0) / 1000;
    const { rows: size } = await db.pg.query<{ b: string }>(
      `SELECT pg_total_relation_size('fixes') AS b`,
    );
    log(`api: ${fixes.toLocaleString()} fixes in ${round(loadSeconds, 1)} s`);

    // Officers of the townships holding dense subjects, a bureau over the county (all
    // subjects), a police partner at the county.
    const denseTownships = Math.max(1, Math.ceil(s.denseSubjects / PER_TOWNSHIP));
    const officers = townships.slice(0, Math.max(denseTownships, Math.min(8, townships.length)));
    await createUsers(db.pg, [
      ...officers.map((code, k) => ({
        username: `bench-officer-${k + 1}`,
        role: 'officer',
        jurisdiction: code,
      })),
      { username: 'bench-bureau', role: 'bureau', jurisdiction: '450103' },
      { username: 'bench-police', role: 'police', jurisdiction: '450103' },
    ]);
    const profileDir = join(RESULTS_DIR, 'profiles', `platform-api-${Date.now()}`);
    const platform = await startPlatformChild({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      gateway: false,
      ...(s.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    let result: ApiResult;
    try {
      const officerTokens: string[] = [];
      for (let k = 0; k < officers.length; k++) {
        officerTokens.push(await signIn(platform.httpUrl, `bench-officer-${k + 1}`));
      }
      const bureau = await signIn(platform.httpUrl, 'bench-bureau');
      const police = await signIn(platform.httpUrl, 'bench-police');
      const base = new URL(platform.httpUrl);
      const pids = { platform: platform.child.pid, pg: () => backendPids(db.pg) };
      const random = rng(7);
      const dense = refs.slice(0, s.denseSubjects);
      // The officer of subject i's township (subjects are PER_TOWNSHIP to a township).
      const officerOf = (i: number) => officerTokens[Math.floor(i / PER_TOWNSHIP)]!;
      const now = Date.now();
      const day = (daysBack: number) => ({
        from: new Date(now - daysBack * 86_400_000).toISOString(),
        to: new Date(now).toISOString(),
      });
      const cases: { name: string; next: (i: number) => Call }[] = [
        {
          name: 'latest positions, officer (township, ~500 subjects)',
          next: (i) => ({
            method: 'GET',
            path: '/api/v1/positions/latest?limit=1000',
            token: officerTokens[i % officers.length]!,
          }),
        },
        {
          name: `latest positions, bureau (county, first page of 1,000 of ${s.subjects.toLocaleString()})`,
          next: () => ({
            method: 'GET',
            path: '/api/v1/positions/latest?limit=1000',
            token: bureau,
          }),
        },
        {
          name: 'track, 1 day (1,440 fixes)',
          next: () => {
            const k = Math.floor(random() * dense.length);
            const w = day(1);
            return {
              method: 'GET',
              path: `/api/v1/subjects/${dense[k]!.subject_id}/positions?from=${w.from}&to=${w.to}`,
              token: officerOf(k),
            };
          },
        },
        {
          name: `track, ${s.days} days (downsampled to 2,000 points)`,
          next: () => {
            const k = Math.floor(random() * dense.length);
            const w = day(s.days);
            return {
              method: 'GET',
              path: `/api/v1/subjects/${dense[k]!.subject_id}/positions?from=${w.from}&to=${w.to}`,
              token: officerOf(k),
            };
          },
        },
        {
          name: 'police position query, 1 day (1,440 fixes)',
          next: (i) => {
            const k = Math.floor(random() * dense.length);
            const w = day(1);
            return {
              method: 'POST',
              path: '/api/v1/police/position-queries',
              token: police,
              body: JSON.stringify({
                subjectId: dense[k]!.subject_id,
                from: w.from,
                to: w.to,
                legalBasis: '《刑事诉讼法》第一百一十五条 基准测试',
                caseNumber: `BENCH-${i}`,
              }),
            };
          },
        },
      ];
      const results: ApiCase[] = [];
      for (const c of cases) {
        log(`api: ${c.name}, ${s.connections} connections`);
        const probe = c.next(0);
        const sampleRes = await fetch(new URL(probe.path, base), {
          method: probe.method,
          headers: {
            authorization: `Bearer ${probe.token}`,
            ...(probe.body ? { 'content-type': 'application/json' } : {}),
          },
          ...(probe.body ? { body: probe.body } : {}),
        });
        const sampleText = await sampleRes.text();
        if (sampleRes.status >= 300)
          throw new Error(`${c.name}: ${sampleRes.status} ${sampleText}`);
        const r = await hammer(base, c.next, s, pids);
        results.push({ name: c.name, ...r, sample: sampleText.slice(0, 160) });
      }
      result = {
        settings: s,
        fixes,
        loadSeconds: round(loadSeconds, 1),
        fixesTableBytes: Number(size[0]!.b),
        cases: results,
      };
    } finally {
      await platform.stop();
    }
    // The profile is written when the platform exits.
    const file = s.profile ? mainThreadProfile(profileDir) : undefined;
    if (file) result.profile = summarizeProfile(file);
    return result;
  } finally {
    await db.drop();
    await broker.stop();
  }
}

export function printApi(r: ApiResult) {
  console.log(
    `\nHTTP API, ${r.settings.subjects.toLocaleString()} subjects, ${r.fixes.toLocaleString()} fixes over ${r.settings.days} days, ${r.settings.connections} concurrent connections:`,
  );
  console.log(
    table(
      r.cases.map((c) => ({
        request: c.name,
        'req/s': c.requestsPerSecond,
        'p50 ms': c.p50Ms,
        'p99 ms': c.p99Ms,
        errors: c.errors,
        'body bytes': c.bytes,
        'platform cores': c.platformCores,
        'postgres cores': c.postgresCores,
        'client cores': c.clientCores,
      })),
    ),
  );
  if (r.profile) {
    console.log(`\nPlatform CPU profile over the API cases (${r.profile.samples} samples):`);
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
  const r = await runApi({
    ...apiSettings(process.argv.includes('--quick')),
    profile: process.argv.includes('--profile'),
  });
  printApi(r);
  console.log(writeResult('api', { measuredAt: new Date().toISOString(), ...r }));
}
