/**
 * Geofence engine micro-benchmark: per-fix cost with 10, 1,000 and 100,000 zones in total
 * spread over Guangxi, plus raw operations on a 5,000-vertex county boundary.
 *
 *   node --import tsx bench/src/geofence.ts [--quick]
 *
 * Each subject is evaluated against its county (a 500-vertex polygon) and five exclusion
 * zones near home; its fixes random-walk around home at one a minute, delivered in batches
 * of 10 through `processBatch`, and again one fix per call, every subject in turn, as the
 * gateway hands them over with single-fix messages. Subjects, tracks and their zones are
 * identical in every case (so are the alerts); only the background zones in the index
 * change, so the ratio 100k/10 shows what the total number of zones costs per fix (target
 * ≤ 1.5×). Last, the memory an engine state holds per subject at steady state
 * (`runMemoryCase`).
 * Results go to bench/results/geofence.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixInput, SubjectState, ZoneInput } from '@ccm/geofence';
import {
  boundaryDistanceM,
  classifyPoint,
  compileGeometry,
  compileZones,
  createSubjectState,
  locate,
  processBatch,
  validateZoneGeometry,
  zonesForSubject,
} from '@ccm/geofence';

const QUICK = process.argv.includes('--quick');
const AREA = { minLon: 104.5, maxLon: 112, minLat: 21, maxLat: 26.5 };
const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;
const SUBJECTS = QUICK ? 400 : 1_000;
const FIXES_PER_SUBJECT = QUICK ? 120 : 240;
/**
 * Best of this many timed passes per case: the minimum is the least disturbed by GC and the
 * OS. The cases' passes take turns (10, 1,000, 100,000 zones, again…), so a slow minute of a
 * shared host falls on every case alike instead of deciding the ratio between them: one case
 * after the other, the 10-zone case measured 1.28–1.90 µs per fix on the same machine, and
 * the ratio 0.89–1.74×.
 */
const PASSES = QUICK ? 5 : 7;
const BATCH = 10;
const EXCLUSIONS_PER_SUBJECT = 5;
const COUNTY_VERTICES = 500;

/** mulberry32: the same zones and tracks on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function offset(lat: number, lon: number, northM: number, eastM: number) {
  return {
    lat: lat + northM / M_PER_DEG,
    lon: lon + eastM / (M_PER_DEG * Math.cos((lat * Math.PI) / 180)),
  };
}

/** Star-shaped, so simple: a stand-in for a county boundary. */
function countyRing(lon: number, lat: number, radiusM: number, n: number, random: () => number) {
  const ring: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const angle = (2 * Math.PI * i) / n;
    const r = radiusM * (1 + 0.15 * Math.sin(5 * angle) + 0.01 * (random() - 0.5));
    const p = offset(lat, lon, r * Math.sin(angle), r * Math.cos(angle));
    ring.push([p.lon, p.lat]);
  }
  ring.push([ring[0]?.[0] ?? lon, ring[0]?.[1] ?? lat]);
  return ring;
}

/** Where the measured subjects live: the same in every case (Nanning, 南宁). */
const HOME_COUNTY = { id: 'county-home', lon: 108.3, lat: 22.8 };
const HOME_EXCLUSIONS = EXCLUSIONS_PER_SUBJECT;

/**
 * `total` zones. The zones the measured subjects are assigned (their county and five
 * exclusion zones near home) are identical in every case; the rest is background: other
 * counties and other subjects' exclusion zones spread over Guangxi, near the subjects too.
 * So a case differs from another only in how many zones the index holds.
 */
function buildWorld(total: number): ZoneInput[] {
  const own = rng(1);
  const zones: ZoneInput[] = [
    {
      id: HOME_COUNTY.id,
      kind: 'inclusion',
      purpose: 'county',
      geometry: {
        type: 'Polygon',
        coordinates: [countyRing(HOME_COUNTY.lon, HOME_COUNTY.lat, 30_000, COUNTY_VERTICES, own)],
      },
    },
  ];
  for (let i = 0; i < HOME_EXCLUSIONS; i++) {
    const p = offset(
      HOME_COUNTY.lat,
      HOME_COUNTY.lon,
      (own() - 0.5) * 16_000,
      (own() - 0.5) * 16_000,
    );
    zones.push(exclusionZone(`x-home-${i}`, p.lon, p.lat, 150 + own() * 250, i));
  }
  const background = rng(total);
  const counties = Math.min(99, Math.floor((total - zones.length) / 1_000));
  const side = Math.ceil(Math.sqrt(counties + 1));
  for (let i = 0; i < counties; i++) {
    const cell = i + 1; // cell 0 is roughly where the home county is
    const lon = AREA.minLon + ((cell % side) + 0.5) * ((AREA.maxLon - AREA.minLon) / side);
    const lat =
      AREA.minLat + (Math.floor(cell / side) + 0.5) * ((AREA.maxLat - AREA.minLat) / side);
    zones.push({
      id: `county-${i}`,
      kind: 'inclusion',
      purpose: 'county',
      geometry: {
        type: 'Polygon',
        coordinates: [countyRing(lon, lat, 30_000, COUNTY_VERTICES, background)],
      },
    });
  }
  // Half of the other zones cluster in 100 towns (town 0 is the subjects' own), half are
  // anywhere in Guangxi: at 100,000 zones that is ~500 other zones in the subjects' town.
  const towns = Array.from({ length: 100 }, (_, t) =>
    t === 0
      ? HOME_COUNTY
      : {
          lon: AREA.minLon + background() * (AREA.maxLon - AREA.minLon),
          lat: AREA.minLat + background() * (AREA.maxLat - AREA.minLat),
        },
  );
  for (let i = 0; zones.length < total; i++) {
    const town = i % 2 === 0 ? towns[(i / 2) % towns.length] : undefined;
    const lon = town
      ? town.lon + (background() - 0.5) * 0.3
      : AREA.minLon + background() * (AREA.maxLon - AREA.minLon);
    const lat = town
      ? town.lat + (background() - 0.5) * 0.3
      : AREA.minLat + background() * (AREA.maxLat - AREA.minLat);
    zones.push(exclusionZone(`x-${i}`, lon, lat, 50 + background() * 250, i));
  }
  return zones;
}

/** A circle, or every third one a square polygon, of half-size `sizeM`. */
function exclusionZone(id: string, lon: number, lat: number, sizeM: number, i: number): ZoneInput {
  if (i % 3 !== 0) {
    return {
      id,
      kind: 'exclusion',
      purpose: 'prohibited',
      geometry: { type: 'Circle', center: [lon, lat], radiusM: sizeM },
    };
  }
  const sw = offset(lat, lon, -sizeM, -sizeM);
  const ne = offset(lat, lon, sizeM, sizeM);
  return {
    id,
    kind: 'exclusion',
    purpose: 'prohibited',
    geometry: {
      type: 'Polygon',
      coordinates: [
        [
          [sw.lon, sw.lat],
          [ne.lon, sw.lat],
          [ne.lon, ne.lat],
          [sw.lon, ne.lat],
          [sw.lon, sw.lat],
        ],
      ],
    },
  };
}

interface Subject {
  id: string;
  batches: FixInput[][];
}

/** Subjects live within 15 km of the county centre; fixes random-walk (≤ 10 km from home). */
function buildSubjects(): Subject[] {
  const random = rng(2);
  const t0 = Date.UTC(2026, 10, 27, 4, 0, 0);
  return Array.from({ length: SUBJECTS }, (_, s) => {
    const home = offset(
      HOME_COUNTY.lat,
      HOME_COUNTY.lon,
      (random() - 0.5) * 30_000,
      (random() - 0.5) * 30_000,
    );
    let northM = 0;
    let eastM = 0;
    const fixes: FixInput[] = [];
    for (let i = 0; i < FIXES_PER_SUBJECT; i++) {
      northM = Math.max(-10_000, Math.min(10_000, northM + (random() - 0.5) * 600));
      eastM = Math.max(-10_000, Math.min(10_000, eastM + (random() - 0.5) * 600));
      const p = offset(home.lat, home.lon, northM, eastM);
      const fixTimeMs = t0 + i * 60_000;
      fixes.push({
        fixTimeMs,
        lat: p.lat,
        lon: p.lon,
        accuracyM: 5 + random() * 25,
        source: random() < 0.9 ? 'gnss' : 'wifi',
        receivedAtMs: fixTimeMs + 2_000,
      });
    }
    const batches: FixInput[][] = [];
    for (let i = 0; i < fixes.length; i += BATCH) batches.push(fixes.slice(i, i + BATCH));
    return { id: `subject-${s}`, batches };
  });
}

function timeMs(f: () => void): number {
  const start = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface ZoneCase {
  zones: number;
  compileMs: number;
  fixes: number;
  fixesPerSecond: number;
  usPerFix: number;
  /** The same fixes one per batch, every subject in turn (the gateway with single-fix messages). */
  usPerSingleFix: number;
  alertEvents: number;
  /** Candidate lookup in the index's own R-tree (every zone, as a dry run uses it), µs. */
  usPerTreeQuery: number;
  treeCandidatesPerQuery: number;
}

/** A zone case ready to time: its world compiled, its subjects' zones resolved. */
interface PreparedZoneCase {
  zones: number;
  compileMs: number;
  fixes: number;
  pass(): number;
  singlePass(): void;
  query(): number;
  pointCount: number;
}

function prepareZoneCase(total: number): PreparedZoneCase {
  const world = buildWorld(total);
  let index = compileZones([]);
  const compileMs = timeMs(() => {
    index = compileZones(world);
  });
  const assigned = [
    HOME_COUNTY.id,
    ...Array.from({ length: HOME_EXCLUSIONS }, (_, i) => `x-home-${i}`),
  ];
  const subjects = buildSubjects().map((s) => ({ ...s, zones: zonesForSubject(index, assigned) }));
  const pass = () => {
    let events = 0;
    for (const s of subjects) {
      let state: SubjectState = createSubjectState(s.id);
      for (const fixes of s.batches) {
        const nowMs = (fixes[fixes.length - 1]?.receivedAtMs ?? 0) + 1_000;
        const result = processBatch(state, { deviceId: s.id, fixes, nowMs }, s.zones);
        state = result.state;
        events += result.alerts.length;
      }
    }
    return events;
  };
  const singlePass = () => {
    const states = subjects.map((s) => createSubjectState(s.id));
    for (let i = 0; i < FIXES_PER_SUBJECT; i++) {
      subjects.forEach((s, k) => {
        const fix = s.batches[Math.floor(i / BATCH)]![i % BATCH]!;
        const input = { deviceId: s.id, fixes: [fix], nowMs: fix.receivedAtMs + 1_000 };
        states[k] = processBatch(states[k]!, input, s.zones).state;
      });
    }
  };
  const everything = zonesForSubject(index, 'all');
  const points = subjects.flatMap((s) => s.batches.flat());
  const query = () => {
    let candidates = 0;
    for (const p of points) candidates += everything.exclusionIn(p.lon, p.lat, p.lon, p.lat).length;
    return candidates;
  };
  // Warm-up: JIT, formatter and offset caches.
  pass();
  singlePass();
  query();
  return {
    zones: total,
    compileMs,
    fixes: SUBJECTS * FIXES_PER_SUBJECT,
    pass,
    singlePass,
    query,
    pointCount: points.length,
  };
}

/** Every case's passes in turn, PASSES rounds; each case's fastest pass of each kind. */
function runZoneCases(totals: readonly number[]): ZoneCase[] {
  const prepared = totals.map(prepareZoneCase);
  const best = prepared.map(() => ({ batchMs: Infinity, singleMs: Infinity, treeMs: Infinity }));
  const events = prepared.map(() => 0);
  const candidates = prepared.map(() => 0);
  for (let r = 0; r < PASSES; r++) {
    prepared.forEach((c, k) => {
      const b = best[k]!;
      b.batchMs = Math.min(
        b.batchMs,
        timeMs(() => (events[k] = c.pass())),
      );
      b.singleMs = Math.min(b.singleMs, timeMs(c.singlePass));
      b.treeMs = Math.min(
        b.treeMs,
        timeMs(() => (candidates[k] = c.query())),
      );
    });
  }
  return prepared.map((c, k) => {
    const b = best[k]!;
    return {
      zones: c.zones,
      compileMs: round(c.compileMs),
      fixes: c.fixes,
      fixesPerSecond: Math.round(c.fixes / (b.batchMs / 1000)),
      usPerFix: round((b.batchMs * 1000) / c.fixes),
      usPerSingleFix: round((b.singleMs * 1000) / c.fixes),
      alertEvents: events[k]!,
      usPerTreeQuery: round((b.treeMs * 1000) / c.pointCount, 3),
      treeCandidatesPerQuery: round(candidates[k]! / c.pointCount, 3),
    };
  });
}

interface PolygonCase {
  vertices: number;
  compileMs: number;
  validateMs: number;
  usPerLocate: number;
  usPerClassify: number;
  usPerDistance: number;
  usPerDistanceNearEdge: number;
}

/**
 * Raw operations on one 5,000-vertex county boundary: half the points anywhere in its box,
 * half within ~100 m of a vertex (where drift decisions are made).
 */
function runPolygonCase(): PolygonCase {
  const random = rng(5_000);
  const ring = countyRing(108.3, 22.8, 40_000, 5_000, random);
  const geometry = { type: 'Polygon' as const, coordinates: [ring] };
  let compiled = compileGeometry(geometry);
  const compileMs = timeMs(() => {
    compiled = compileGeometry(geometry);
  });
  const validateMs = timeMs(() => validateZoneGeometry(geometry));
  const n = QUICK ? 20_000 : 200_000;
  const points = Array.from({ length: n }, (_, i) => {
    if (i % 2 === 0) return [107.8 + random(), 22.3 + random()] as const;
    const v = ring[Math.floor(random() * 5_000)] ?? [108.3, 22.8];
    return [v[0] + (random() - 0.5) * 0.002, v[1] + (random() - 0.5) * 0.002] as const;
  });
  const nearEdge = points.filter((_, i) => i % 2 === 1);
  const per = (f: (lon: number, lat: number) => unknown, at = points) => {
    for (const [lon, lat] of at.slice(0, 1_000)) f(lon, lat); // warm-up
    return round((timeMs(() => at.forEach(([lon, lat]) => f(lon, lat))) * 1000) / at.length, 3);
  };
  return {
    vertices: 5_000,
    compileMs: round(compileMs),
    validateMs: round(validateMs),
    usPerLocate: per((lon, lat) => locate(compiled, lon, lat)),
    usPerClassify: per((lon, lat) => classifyPoint(compiled, lon, lat, 45)),
    usPerDistance: per((lon, lat) => boundaryDistanceM(compiled, lon, lat, 5_000)),
    usPerDistanceNearEdge: per(
      (lon, lat) => boundaryDistanceM(compiled, lon, lat, 5_000),
      nearEdge,
    ),
  };
}

interface MemoryCase {
  /** One fix every this many seconds (60: normal reporting; 15: while violating). */
  intervalS: number;
  subjects: number;
  /** Fixes in each subject's window after 6 hours. */
  windowFixes: number;
  /** Memory the subjects' states hold after a full GC: JS heap plus array buffers. */
  bytesPerSubject: number;
  /** Of which on the JS heap (what the heap limit and the GC's marking see). */
  heapBytesPerSubject: number;
  /** Of which in array buffers (the windows' fixes, window.ts), outside the heap. */
  bufferBytesPerSubject: number;
  /** All of it for 50,000 subjects, MiB. */
  mibAt50k: number;
  /** The heap part for 50,000 subjects, MiB, against the process's heap limit. */
  heapMibAt50k: number;
  heapLimitMib: number;
}

/**
 * What the gateway's engine cache holds per subject at steady state: the state after six
 * hours of fixes (the window's time bound) at one a minute, and at one every 15 s (a
 * violation's reporting interval, where the count bound wins). The ingestion benchmark's
 * 60-second runs never reach this: their windows hold a minute of fixes.
 */
async function runMemoryCase(intervalS: number): Promise<MemoryCase> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const subjects = QUICK ? 100 : 500;
  const perSubject = Math.round((6 * 3600) / intervalS);
  const zones = zonesForSubject(compileZones([]), []);
  const startMs = Date.UTC(2026, 10, 28, 0, 0, 0);
  const kept: SubjectState[] = [];
  // Array buffers are freed behind the GC: settle before each reading, or the earlier cases'
  // garbage (the zone indexes) is subtracted from this one's buffers.
  const settled = async () => {
    gc();
    await sleep(200);
    gc();
    return process.memoryUsage();
  };
  const before = await settled();
  for (let s = 0; s < subjects; s++) {
    let state = createSubjectState(`00000000-0000-4000-8000-${String(s).padStart(12, '0')}`);
    for (let i = 0; i < perSubject; i += BATCH) {
      const fixes: FixInput[] = [];
      for (let j = i; j < Math.min(perSubject, i + BATCH); j++) {
        const t = startMs + j * intervalS * 1000;
        const at = offset(22.8, 108.3 + s * 0.001, Math.sin(j / 40) * 300, Math.cos(j / 50) * 300);
        fixes.push({ fixTimeMs: t, ...at, accuracyM: 8, source: 'gnss', receivedAtMs: t + 900 });
      }
      const nowMs = fixes[fixes.length - 1]!.receivedAtMs;
      state = processBatch(state, { deviceId: 'wb', fixes, nowMs }, zones).state;
    }
    kept.push(state);
  }
  const after = await settled();
  const heapBytesPerSubject = Math.round((after.heapUsed - before.heapUsed) / subjects);
  const bufferBytesPerSubject = Math.round((after.arrayBuffers - before.arrayBuffers) / subjects);
  const bytesPerSubject = heapBytesPerSubject + bufferBytesPerSubject;
  return {
    intervalS,
    subjects,
    windowFixes: kept[0]?.window.length ?? 0,
    bytesPerSubject,
    heapBytesPerSubject,
    bufferBytesPerSubject,
    mibAt50k: Math.round((bytesPerSubject * 50_000) / 1_048_576),
    heapMibAt50k: Math.round((heapBytesPerSubject * 50_000) / 1_048_576),
    heapLimitMib: Math.round(getHeapStatistics().heap_size_limit / 1_048_576),
  };
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

async function main(): Promise<void> {
  console.log(
    `geofence bench${QUICK ? ' (quick)' : ''}: ${SUBJECTS} subjects × ${FIXES_PER_SUBJECT} fixes, ` +
      `batches of ${BATCH}, county ${COUNTY_VERTICES} vertices + ${EXCLUSIONS_PER_SUBJECT} exclusion zones each`,
  );
  const cases = runZoneCases([10, 1_000, 100_000]);
  console.table(
    cases.map((c) => ({
      'zones in total': c.zones,
      'compile ms': c.compileMs,
      fixes: c.fixes,
      'fixes/s': c.fixesPerSecond,
      'µs/fix': c.usPerFix,
      'µs/fix, 1 per batch': c.usPerSingleFix,
      'alert events': c.alertEvents,
      'µs/R-tree query': c.usPerTreeQuery,
      'candidates/query': c.treeCandidatesPerQuery,
    })),
  );
  const first = cases[0];
  const last = cases[cases.length - 1];
  const ratio = first && last ? round(last.usPerFix / first.usPerFix) : NaN;
  console.log(`per-fix cost 100k / 10 zones: ${ratio}× (target ≤ 1.5×)`);

  const polygon = runPolygonCase();
  console.log('5,000-vertex county polygon:');
  console.table([
    {
      'compile ms': polygon.compileMs,
      'validate ms': polygon.validateMs,
      'µs/locate': polygon.usPerLocate,
      'µs/classify (45 m)': polygon.usPerClassify,
      'µs/distance (≤5 km)': polygon.usPerDistance,
      'µs/distance near edge': polygon.usPerDistanceNearEdge,
    },
  ]);

  const memory = [await runMemoryCase(60), await runMemoryCase(15)];
  console.log('Engine state held per subject at steady state (6 hours of fixes):');
  console.table(
    memory.map((m) => ({
      'fix every s': m.intervalS,
      'window fixes': m.windowFixes,
      'bytes/subject': m.bytesPerSubject,
      'of which heap': m.heapBytesPerSubject,
      'of which buffers': m.bufferBytesPerSubject,
      'MiB at 50,000 subjects': m.mibAt50k,
      'heap MiB at 50,000': m.heapMibAt50k,
      'heap limit MiB': m.heapLimitMib,
    })),
  );

  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'geofence.json');
  mkdirSync(dirname(out), { recursive: true });
  const result = {
    benchmark: 'geofence',
    quick: QUICK,
    node: process.version,
    measuredAt: new Date().toISOString(),
    setup: {
      subjects: SUBJECTS,
      fixesPerSubject: FIXES_PER_SUBJECT,
      batch: BATCH,
      countyVertices: COUNTY_VERTICES,
      exclusionsPerSubject: EXCLUSIONS_PER_SUBJECT,
    },
    zoneCases: cases,
    ratio100kTo10: ratio,
    ratioTarget: 1.5,
    polygon5000: polygon,
    engineMemory: memory,
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written ${out}`);
}

await main();
