import type { Fix } from '@ccm/contracts';
import { destination, round6, type LonLat } from './geo';
import type { Rng } from './random';

/**
 * How a wristband's receiver reports a true position. Outdoors: GNSS (GPS/BeiDou), 3–8 m
 * on foot and 5–15 m in traffic, with 7–16 satellites. Indoors: Wi-Fi (50–120 m) or cell
 * towers (LBS, 200–500 m). `acc` is the 68 % radius the contract asks for, and the reported
 * position is off by a matching error: Rayleigh-distributed with σ = acc / 1.51 (68 % within
 * acc), cut at 2 × acc for GNSS and 1.2 × acc indoors, so an error never looks like a trip.
 */
export type FixEnv = 'outdoor' | 'vehicle' | 'indoor';

export interface NoiseOptions {
  /** Force the source (scenarios: a cell-tower fix at the edge). */
  src?: Fix['src'];
  /** Force the accuracy, m. */
  acc?: number;
  /** Report this position instead of the truth plus an error (a scenario placing each fix). */
  reportAt?: LonLat;
}

export function observe(
  truth: LonLat,
  tMs: number,
  env: FixEnv,
  rng: Rng,
  motion: { speedMps?: number; hdg?: number | null } = {},
  options: NoiseOptions = {},
): Fix {
  const indoor = env === 'indoor';
  const src: Fix['src'] = options.src ?? (indoor ? (rng.chance(0.75) ? 'wifi' : 'lbs') : 'gnss');
  const acc =
    options.acc ??
    (src === 'gnss'
      ? env === 'vehicle'
        ? rng.range(5, 15)
        : rng.range(3, 8)
      : src === 'wifi'
        ? rng.range(50, 120)
        : rng.range(200, 500));
  const cap = src === 'gnss' ? 2 * acc : 1.2 * acc;
  const sigma = acc / 1.51;
  const errorM = Math.min(cap, sigma * Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))));
  const p = options.reportAt ?? destination(truth, rng.range(0, 360), errorM);
  const fix: Fix = {
    t: Math.round(tMs),
    lat: round6(p[1]),
    lon: round6(p[0]),
    acc: Math.round(acc * 10) / 10,
    src,
  };
  if (src === 'gnss') {
    fix.sat = Math.max(4, Math.min(20, Math.round(18 - acc + rng.range(-2, 2))));
    const speed = motion.speedMps ?? 0;
    fix.spd = Math.round(Math.max(0, speed * rng.range(0.9, 1.1)) * 10) / 10;
    if (motion.hdg !== null && motion.hdg !== undefined && speed > 0.3) {
      fix.hdg = Math.round(((motion.hdg + rng.range(-8, 8) + 360) % 360) * 10) / 10;
    }
  }
  return fix;
}
