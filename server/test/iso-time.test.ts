import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from '../src/iso-time';

describe('isoTime', () => {
  it('writes what toISOString writes, for every time a Date can hold', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          // Years 0–9999 (the fast path), around its edges, and the whole range of Date.
          fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
          fc.integer({ min: -62_167_219_200_000 - 5, max: -62_167_219_200_000 + 5 }),
          fc.integer({ min: 253_402_300_799_999 - 5, max: 253_402_300_799_999 + 5 }),
          fc.integer({ min: -8.64e15, max: 8.64e15 }),
        ),
        (ms) => {
          const d = new Date(ms);
          expect(isoTime(d)).toBe(d.toISOString());
        },
      ),
      { numRuns: 50_000 },
    );
  });

  it.each([
    '1970-01-01T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '2000-02-29T12:00:00.001Z',
    '2100-02-28T23:59:59.999Z',
    '2026-11-29T16:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
  ])('%s', (text) => {
    expect(isoTime(new Date(text))).toBe(text);
  });

  it('throws on an invalid date, as toISOString does', () => {
    expect(() => isoTime(new Date(NaN))).toThrow(RangeError);
  });
});
