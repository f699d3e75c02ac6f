import type { FixRow } from '@ccm/device-gateway';

/**
 * Realistic one-fix-a-minute tracks of a person on probation, for the storage and API
 * benchmarks: nights at home (stationary, indoor GNSS drift, some Wi-Fi fixes), a commute
 * by bus or e-bike (8 m/s along a slightly wavy line), a working day at one place, an evening
 * walk around home. GNSS fixes carry 3–15 m accuracy and 6–14 satellites, Wi-Fi 20–60 m and
 * cell (LBS) fixes 200–1,500 m without satellites. Fix times are whole seconds, 60 s apart with
 * an occasional ±1 s slip; the receive lag is 0.3–2.5 s. Deterministic per device.
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;
const CST_MS = 8 * 3600_000; // China Standard Time, for the daily routine

export interface TrackOptions {
  deviceNo: number;
  subjectNo: number;
  /** First fix time, ms (whole minute). */
  fromMs: number;
  /** Number of fixes (one a minute). */
  count: number;
  /** Every `stride`-th fix only (sparser tracks for bulk data), default 1. */
  stride?: number;
}

export function track(o: TrackOptions): FixRow[] {
  const r = rng(o.deviceNo * 7919 + 17);
  const homeLat = 22.6 + r() * 0.5;
  const homeLon = 108.1 + r() * 0.6;
  const angle = r() * 2 * Math.PI;
  const workDistM = 2_000 + r() * 6_000;
  const workN = Math.sin(angle) * workDistM;
  const workE = Math.cos(angle) * workDistM;
  const cosLat = Math.cos((homeLat * Math.PI) / 180);
  const rows: FixRow[] = [];
  let t = o.fromMs;
  let walkN = 0;
  let walkE = 0;
  let walkHeading = r() * 360;
  let sat = 9;
  let lastHdg: number | null = null;
  const stride = o.stride ?? 1;
  for (let k = 0; k < o.count * stride; k++) {
    const slip = r();
    t += 60_000 + (slip < 0.01 ? -1000 : slip > 0.99 ? 1000 : 0);
    if (k % stride !== 0) continue;
    const minuteOfDay = Math.floor(((t + CST_MS) % 86_400_000) / 60_000);
    let n: number;
    let e: number;
    let speed = 0;
    let heading: number | null = null;
    let indoor = false;
    if (minuteOfDay < 450 || minuteOfDay >= 1320) {
      // 22:00–07:30 at home
      n = 0;
      e = 0;
      indoor = true;
    } else if (minuteOfDay < 495 || (minuteOfDay >= 1050 && minuteOfDay < 1095)) {
      // commute, 45 min each way
      const there = minuteOfDay < 495;
      const f = there ? (minuteOfDay - 450) / 45 : 1 - (minuteOfDay - 1050) / 45;
      const wave = Math.sin(f * Math.PI * 3) * 150;
      n = workN * f + wave * Math.cos(angle);
      e = workE * f - wave * Math.sin(angle);
      speed = 6 + r() * 4;
      heading = ((there ? angle : angle + Math.PI) * 180) / Math.PI;
    } else if (minuteOfDay < 1050) {
      n = workN;
      e = workE;
      indoor = true;
    } else {
      // 18:15–22:00 a walk around home
      walkHeading += (r() - 0.5) * 40;
      const step = 60 * (0.6 + r());
      walkN = Math.max(
        -1500,
        Math.min(1500, walkN + Math.cos((walkHeading * Math.PI) / 180) * step),
      );
      walkE = Math.max(
        -1500,
        Math.min(1500, walkE + Math.sin((walkHeading * Math.PI) / 180) * step),
      );
      n = walkN;
      e = walkE;
      speed = step / 60;
      heading = walkHeading;
    }
    const kind = r();
    let src = 0;
    let acc: number;
    if (indoor && kind < 0.15) {
      src = 2;
      acc = 20 + r() * 40;
    } else if (kind > 0.985) {
      src = 1;
      acc = 200 + r() * 1300;
    } else {
      acc = indoor ? 8 + r() * 7 : 3 + r() * 6;
    }
    const noise = src === 0 ? acc * 0.6 : acc * 0.8;
    n += (r() - 0.5) * 2 * noise;
    e += (r() - 0.5) * 2 * noise;
    sat = Math.max(6, Math.min(14, sat + (r() < 0.2 ? (r() < 0.5 ? -1 : 1) : 0)));
    const hdg: number | null =
      heading === null ? lastHdg : ((Math.round(heading + (r() - 0.5) * 10) % 360) + 360) % 360;
    lastHdg = hdg;
    rows.push({
      deviceNo: o.deviceNo,
      tMs: t,
      subjectNo: o.subjectNo,
      latE6: Math.round((homeLat + n / M_PER_DEG) * 1e6),
      lonE6: Math.round((homeLon + e / (M_PER_DEG * cosLat)) * 1e6),
      accDm: Math.max(1, Math.round(acc * 10)),
      src,
      spdCms: src === 0 ? Math.round(speed * 100) : null,
      hdgDeg: src === 0 && speed > 0.5 ? hdg : null,
      sat: src === 0 ? sat : null,
      flags: acc > 100 ? 1 : 0,
      recvLagMs: 300 + Math.floor(r() * 2200),
    });
  }
  return rows;
}
