/**
 * The benchmark suite (issue #8): `npm run bench [-- --quick|--full] [--profile]`
 *   = node --import tsx bench/src/run.ts [--quick|--full] [--profile]
 *
 * Runs, in order: broker pass-through and end-to-end ingestion, fix-to-alert latency, the
 * geofence engine (bench/src/geofence.ts, as its own process), storage per fix, and the HTTP
 * API; prints one table per part and a summary against the targets, and writes
 * bench/results/{ingest,alert-latency,geofence,storage,api,summary}.json. Quick mode (the
 * default) takes under two minutes; full mode several minutes per ingestion case.
 * `--only=ingest,alert,geofence,storage,api` runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertSettings, printAlert, runAlertLatency, type AlertResult } from './alert-latency';
import { apiSettings, printApi, runApi, type ApiResult } from './api';
import { ingestSettings, printIngest, runIngest, type IngestReport } from './ingest';
import { log, REPO, RESULTS_DIR, round, table, writeResult } from './lib/report';
import { printStorage, runStorage, storageSettings, type StorageResult } from './storage';

const full = process.argv.includes('--full');
const quick = !full;
const profile = process.argv.includes('--profile');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : undefined;
const wants = (part: string) => !only || only.has(part);

interface GeofenceJson {
  zoneCases: { zones: number; usPerFix: number; fixesPerSecond: number }[];
  ratio100kTo10: number;
  polygon5000: Record<string, number>;
}

function runGeofence(): GeofenceJson {
  log('geofence engine (bench/src/geofence.ts)');
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/src/geofence.ts', ...(quick ? ['--quick'] : [])],
    { cwd: REPO, stdio: 'inherit' },
  );
  if (res.status !== 0) throw new Error(`geofence bench exited with ${res.status}`);
  return JSON.parse(readFileSync(join(RESULTS_DIR, 'geofence.json'), 'utf8')) as GeofenceJson;
}

type Verdict = 'met' | 'missed' | 'not run';

function verdicts(r: {
  ingest?: IngestReport;
  alert?: AlertResult;
  geofence?: GeofenceJson;
  storage?: StorageResult;
}) {
  const rows: { target: string; measured: string; verdict: Verdict }[] = [];
  const single = r.ingest?.ingestion.filter((i) => i.fixesPerMessage === 1) ?? [];
  const batch = r.ingest?.ingestion.filter((i) => i.fixesPerMessage === 10) ?? [];
  const worst = <T>(xs: T[], key: (x: T) => number) =>
    xs.length ? xs.reduce((a, b) => (key(b) < key(a) ? b : a)) : undefined;
  const s = worst(single, (x) => x.fixesPerSecond);
  rows.push({
    target: 'single-fix ingestion ≥ 25,000 fixes/s',
    measured: s
      ? single
          .map((x) => `${x.fixesPerSecond.toLocaleString()} (${x.devices.toLocaleString()} dev)`)
          .join(', ')
      : '—',
    verdict: s ? (s.fixesPerSecond >= 25_000 ? 'met' : 'missed') : 'not run',
  });
  const sr = worst(single, (x) => x.ratioToPassThrough);
  rows.push({
    target: 'single-fix ingestion ≥ 0.35 of pass-through',
    measured: sr ? single.map((x) => `${x.ratioToPassThrough}`).join(', ') : '—',
    verdict: sr ? (sr.ratioToPassThrough >= 0.35 ? 'met' : 'missed') : 'not run',
  });
  const b = worst(batch, (x) => x.fixesPerSecond);
  rows.push({
    target: '10-fix batches ≥ 100,000 fixes/s',
    measured: b
      ? batch
          .map((x) => `${x.fixesPerSecond.toLocaleString()} (${x.devices.toLocaleString()} dev)`)
          .join(', ')
      : '—',
    verdict: b ? (b.fixesPerSecond >= 100_000 ? 'met' : 'missed') : 'not run',
  });
  const all = r.ingest?.ingestion ?? [];
  rows.push({
    target: 'zero lost, zero duplicated fixes',
    measured: all.length
      ? `lost ${all.reduce((a, x) => a + x.lost, 0)}, duplicated ${all.reduce((a, x) => a + x.duplicated, 0)}`
      : '—',
    verdict: all.length
      ? all.every((x) => x.lost === 0 && x.duplicated === 0 && x.devicesNotFullyAcked === 0)
        ? 'met'
        : 'missed'
      : 'not run',
  });
  rows.push({
    target: `p99 fix-to-alert < 100 ms at 5,000 fixes/s`,
    measured: r.alert
      ? `p99 ${r.alert.p99Ms} ms at ${r.alert.backgroundFixesPerSecond.toLocaleString()} fixes/s (target load ${r.alert.settings.backgroundFixesPerSecond.toLocaleString()})`
      : '—',
    verdict: r.alert
      ? r.alert.p99Ms < 100 && r.alert.alertsMissing === 0
        ? 'met'
        : 'missed'
      : 'not run',
  });
  rows.push({
    target: 'geofence 100k / 10 zones ≤ 1.5×',
    measured: r.geofence ? `${r.geofence.ratio100kTo10}×` : '—',
    verdict: r.geofence ? (r.geofence.ratio100kTo10 <= 1.5 ? 'met' : 'missed') : 'not run',
  });
  rows.push({
    target: '≤ 16 B/fix after TimescaleDB compression',
    measured: r.storage ? `${r.storage.timescale.bytesPerFixCompressed} B/fix` : '—',
    verdict: r.storage
      ? r.storage.timescale.bytesPerFixCompressed <= 16
        ? 'met'
        : 'missed'
      : 'not run',
  });
  return rows;
}

async function main() {
  const started = performance.now();
  log(`CCM benchmarks, ${full ? 'full' : 'quick'} mode${profile ? ', profiling' : ''}`);
  const out: {
    ingest?: IngestReport;
    alert?: AlertResult;
    geofence?: GeofenceJson;
    storage?: StorageResult;
    api?: ApiResult;
  } = {};
  if (wants('ingest')) {
    out.ingest = await runIngest(ingestSettings(quick, profile));
    printIngest(out.ingest);
    writeResult('ingest', { measuredAt: new Date().toISOString(), ...out.ingest });
  }
  if (wants('alert')) {
    // The target load, and in full mode a lighter one for reference (latency without queueing).
    const runs: AlertResult[] = [];
    for (const load of quick ? [0] : [0, 1_000]) {
      const settings = alertSettings(quick);
      if (load) settings.backgroundFixesPerSecond = load;
      const r = await runAlertLatency(settings);
      printAlert(r);
      runs.push(r);
    }
    out.alert = runs[0];
    writeResult('alert-latency', { measuredAt: new Date().toISOString(), runs });
  }
  if (wants('geofence')) out.geofence = runGeofence();
  if (wants('storage')) {
    out.storage = await runStorage(storageSettings(quick));
    printStorage(out.storage);
    writeResult('storage', { measuredAt: new Date().toISOString(), ...out.storage });
  }
  if (wants('api')) {
    out.api = await runApi({ ...apiSettings(quick), profile });
    printApi(out.api);
    writeResult('api', { measuredAt: new Date().toISOString(), ...out.api });
  }
  const rows = verdicts(out);
  console.log(
    `\nTargets (issue #8)${quick ? ' — quick mode: smaller and shorter than the targets assume' : ''}:`,
  );
  console.log(table(rows));
  const seconds = round((performance.now() - started) / 1000, 1);
  const file = writeResult('summary', {
    measuredAt: new Date().toISOString(),
    mode: full ? 'full' : 'quick',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    seconds,
    targets: rows,
  });
  log(`done in ${seconds} s; results in ${RESULTS_DIR} (${file})`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
