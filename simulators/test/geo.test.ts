import { describe, expect, it } from 'vitest';
import { alongPath, distanceM, pathPrefix, polylineLengthM, type LonLat } from '../src/geo';

describe('pathPrefix', () => {
  // Three legs of about 1.1 km, 0.9 km and 1.1 km near Nanning.
  const path: LonLat[] = [
    [108.3, 22.8],
    [108.3, 22.81],
    [108.3087, 22.81],
    [108.3087, 22.8],
  ];
  const length = polylineLengthM(path);

  it('ends at the point that far along, keeping the vertices before it', () => {
    for (const d of [0, 1, 500, 1_113, 1_500, 2_500, length - 1]) {
      const prefix = pathPrefix(path, d);
      expect(polylineLengthM(prefix)).toBeCloseTo(d, 3);
      expect(distanceM(prefix.at(-1)!, alongPath(path, d).p)).toBeLessThan(1e-6);
      for (const p of prefix.slice(0, -1)) expect(path).toContainEqual(p);
    }
  });

  it('is the whole path beyond its end', () => {
    expect(pathPrefix(path, length + 100)).toEqual(path);
  });
});
