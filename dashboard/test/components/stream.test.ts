// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import type { LatestPosition } from '../../src/api/types';
import { mergePositions, type PositionUpdate } from '../../src/live/stream';

const base: LatestPosition = {
  subjectId: 's1',
  subjectName: '测试对象',
  deviceId: 'wb-1',
  t: '2026-11-28T08:00:00.000Z',
  lat: 22.8,
  lon: 108.3,
  accuracyM: 10,
  source: 'gnss',
  battery: 80,
  online: true,
  openAlerts: 1,
};
const update = (o: Partial<PositionUpdate>): PositionUpdate => ({
  type: 'position',
  subjectId: 's1',
  deviceId: 'wb-1',
  t: '2026-11-28T08:01:00.000Z',
  lat: 22.81,
  lon: 108.31,
  accuracyM: 5,
  source: 'gnss',
  battery: 79,
  online: true,
  ...o,
});

describe('live positions batched from the stream', () => {
  it('a newer fix moves the subject and keeps its name and open alerts', () => {
    const [p] = mergePositions([base], new Map([['s1', update({})]]));
    expect(p).toMatchObject({
      lat: 22.81,
      lon: 108.31,
      battery: 79,
      subjectName: '测试对象',
      openAlerts: 1,
    });
  });

  it('an older fix (arriving late) does not move the subject back', () => {
    const [p] = mergePositions(
      [base],
      new Map([['s1', update({ t: '2026-11-28T07:59:00.000Z' })]]),
    );
    expect(p).toBe(base);
  });

  it('a subject not yet on the map is added', () => {
    const next = mergePositions(
      [base],
      new Map([['s2', update({ subjectId: 's2', deviceId: 'wb-2' })]]),
    );
    expect(next.map((p) => p.subjectId)).toEqual(['s1', 's2']);
  });
});
