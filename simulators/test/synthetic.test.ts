import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDemoPlan, idCardCheckChar, isRealCheckDigit, syntheticIdCardNo } from '../src';

describe('synthetic ID numbers can never be a real person’s', () => {
  it('a known valid number passes the check, so the check itself works', () => {
    // GB 11643's own example: 11010519491231002X is valid.
    expect(idCardCheckChar('11010519491231002')).toBe('X');
    expect(isRealCheckDigit('11010519491231002X')).toBe(true);
  });

  it('never carries a valid check character, for any area, birth date and sequence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 110000, max: 659999 }),
        fc.date({ min: new Date('1920-01-01'), max: new Date('2010-12-31'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999 }),
        (area, birth, sequence) => {
          const id = syntheticIdCardNo(String(area), birth.toISOString().slice(0, 10), sequence);
          expect(id).toMatch(/^\d{17}[\dX]$/);
          expect(isRealCheckDigit(id)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every subject of the demo data set has a well-formed, invalid, unique number', () => {
    const plan = buildDemoPlan({ subjects: 500 });
    const ids = plan.subjects.map((s) => s.idCardNo);
    expect(new Set(ids).size).toBe(ids.length);
    for (const s of plan.subjects) {
      expect(s.idCardNo).toMatch(/^\d{17}[\dX]$/);
      expect(isRealCheckDigit(s.idCardNo)).toBe(false);
      // The area is the subject's district, the birth date the subject's, and the sequence's
      // parity the gender (odd: male), as in a real number.
      expect(s.idCardNo.slice(0, 6)).toBe(s.jurisdictionCode.slice(0, 6));
      expect(s.idCardNo.slice(6, 14)).toBe(s.birthDate.replace(/-/g, ''));
      expect(Number(s.idCardNo[16]) % 2 === 1).toBe(s.gender === 'male');
    }
  });
});
