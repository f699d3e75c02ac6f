import { describe, expect, it } from 'vitest';
import { booleans, numbers } from '../src/store';

/** The array literals the batch insert sends instead of letting pg quote every element. */
describe('array literals for the batch insert', () => {
  it('writes numbers, negatives, large int8 values and NULLs as PostgreSQL reads them', () => {
    const rows = [{ v: 1 }, { v: -22_817_012 }, { v: null }, { v: 1_795_752_000_123 }, { v: 0 }];
    expect(numbers(rows, (r) => r.v)).toBe('{1,-22817012,NULL,1795752000123,0}');
    expect(numbers([], (r: { v: number }) => r.v)).toBe('{}');
  });

  it('writes booleans as t / f / NULL', () => {
    expect(booleans([true, false, null], (b) => b)).toBe('{t,f,NULL}');
  });
});
