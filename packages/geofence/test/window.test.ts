import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredFix } from '../src/state';
import { FixWindow } from '../src/window';

const T0 = Date.UTC(2026, 10, 29, 2, 0, 0);
const fix = (i: number): StoredFix => [
  T0 + i * 60_000,
  22.8170123 + i * 1e-7,
  108.3660456 - i * 1e-7,
  (i % 50) + 0.25,
  (i % 3) as StoredFix[4],
  T0 + i * 60_000 + 1_500,
];
const fixes = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => fix(from + k));

describe('FixWindow', () => {
  it('reads back every number it was given, by index, from the end and as JSON', () => {
    const w = FixWindow.of(fixes(0, 20));
    expect(w.length).toBe(20);
    expect(w.toArray()).toEqual(fixes(0, 20));
    expect(w.at(-1)).toEqual(fix(19));
    expect(w.at(20)).toBeUndefined();
    expect(w.at(-21)).toBeUndefined();
    expect(w.firstTime()).toBe(fix(0)[0]);
    expect(w.lastTime()).toBe(fix(19)[0]);
    expect(JSON.parse(JSON.stringify({ w }))).toEqual({ w: fixes(0, 20) });
    expect([...w]).toEqual(fixes(0, 20));
    expect(FixWindow.EMPTY.lastTime()).toBe(-Infinity);
    expect(FixWindow.EMPTY.firstTime()).toBeUndefined();
  });

  it('finds a fix time only if a fix has it', () => {
    const w = FixWindow.of(fixes(0, 31)).dropFirst(5);
    for (let i = 0; i < 31; i++) expect(w.has(fix(i)[0])).toBe(i >= 5);
    expect(w.has(fix(5)[0] + 1)).toBe(false);
    expect(w.has(fix(40)[0])).toBe(false);
    expect(FixWindow.EMPTY.has(T0)).toBe(false);
  });

  it('leaves every window it handed out as it was when two appends continue the same one', () => {
    const base = FixWindow.of(fixes(0, 4));
    const a = base.append(fixes(4, 6)); // in place: base's buffer has room
    const b = base.append([fix(10)]); // must not overwrite a's fixes 4 and 5
    const c = a.append(fixes(6, 8));
    expect(base.toArray()).toEqual(fixes(0, 4));
    expect(a.toArray()).toEqual(fixes(0, 6));
    expect(b.toArray()).toEqual([...fixes(0, 4), fix(10)]);
    expect(c.toArray()).toEqual(fixes(0, 8));
  });

  it('behaves as an array under any sequence of appends, drops and branches', () => {
    type Op =
      | { kind: 'append'; n: number }
      | { kind: 'drop'; n: number }
      | { kind: 'branch'; back: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('drop' as const), n: fc.integer({ min: 0, max: 8 }) }),
      fc.record({ kind: fc.constant('branch' as const), back: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops: Op[]) => {
        // Every window handed out, with the array it must still read as.
        const seen: [FixWindow, StoredFix[]][] = [[FixWindow.EMPTY, []]];
        let next = 0;
        for (const o of ops) {
          const [w, model] = seen[seen.length - 1]!;
          if (o.kind === 'branch') {
            // Continue from an earlier window, as a retried batch does.
            seen.push(seen[Math.max(0, seen.length - 1 - o.back)]!);
          } else if (o.kind === 'append') {
            const more = fixes(next, next + o.n);
            next += o.n;
            seen.push([w.append(more), [...model, ...more]]);
          } else {
            seen.push([w.dropFirst(o.n), model.slice(o.n)]);
          }
        }
        for (const [w, model] of seen) {
          expect(w.length).toBe(model.length);
          expect(w.toArray()).toEqual(model);
        }
      }),
      // A branch that finds room in a shared buffer takes a few hundred runs to come up.
      { numRuns: 3000 },
    );
  });
});
