import type { StoredFix } from './state';

/**
 * The engine's window of recent fixes: sorted by fix time, one fix per time, read-only.
 *
 * A gateway holds one per subject, up to 810 fixes each, for every subject it has seen: at
 * 50,000 subjects that is tens of millions of fixes. As arrays of tuples each fix was a heap
 * object of 108 bytes that every major GC had to mark, and every in-order batch copied the
 * whole array to append to it. Here the fixes are six doubles each in one Float64Array
 * (48 bytes, outside the JS heap, never marked), and a window is a view (offset, length) of
 * a shared buffer:
 *
 *  - `append` writes after the last fix in place when this view ends where the buffer's
 *    written part ends, and copies otherwise (or when the buffer is full). No existing view
 *    covers the slots it writes, so every window ever handed out still reads the same: the
 *    engine stays pure (a second append to the same old window finds the buffer's written
 *    part longer than its view and copies).
 *  - `dropFirst` is a narrower view; the dropped fixes are reclaimed at the next copy.
 *
 * Values are stored as the engine made them (`toStoredFix`), so a fix read back is the same
 * tuple, number for number.
 */
const STRIDE = 6;
/**
 * Room made at a copy, as a multiple of the fixes copied: doubling while a window is small
 * (few copies on its way up), a quarter more once it is large (little slack at steady state,
 * one copy per many appends). A new window starts small: a gateway meets tens of thousands of
 * subjects at once after a restart.
 */
const SMALL = 256;
const GROWTH_SMALL = 2;
const GROWTH = 1.25;
const MIN_CAPACITY = 8;

class Slots {
  /** Fixes written so far from the start of `data` (no view reaches past them). */
  used = 0;
  constructor(readonly data: Float64Array) {}
  get capacity(): number {
    return this.data.length / STRIDE;
  }
}

const NO_SLOTS = new Slots(new Float64Array(0));

export class FixWindow {
  static readonly EMPTY = new FixWindow(NO_SLOTS, 0, 0);

  private constructor(
    private readonly buf: Slots,
    private readonly start: number,
    readonly length: number,
  ) {}

  /** A window of these fixes (sorted by time, unique times: the caller's promise). */
  static of(fixes: readonly StoredFix[]): FixWindow {
    return FixWindow.EMPTY.append(fixes);
  }

  /** Fix time of the i-th fix (0 = oldest). */
  timeAt(i: number): number {
    return this.buf.data[(this.start + i) * STRIDE]!;
  }

  /** Fix time of the newest fix, or -Infinity when empty. */
  lastTime(): number {
    return this.length === 0 ? -Infinity : this.timeAt(this.length - 1);
  }

  /** Fix time of the oldest fix, or undefined when empty. */
  firstTime(): number | undefined {
    return this.length === 0 ? undefined : this.timeAt(0);
  }

  /** The i-th fix as a new tuple; negative counts from the end, like Array#at. */
  at(i: number): StoredFix | undefined {
    const k = i < 0 ? this.length + i : i;
    if (k < 0 || k >= this.length) return undefined;
    const d = this.buf.data;
    const o = (this.start + k) * STRIDE;
    return [d[o]!, d[o + 1]!, d[o + 2]!, d[o + 3]!, d[o + 4] as StoredFix[4], d[o + 5]!];
  }

  /** Whether a fix with this time is in the window (binary search). */
  has(fixTimeMs: number): boolean {
    let lo = 0;
    let hi = this.length - 1;
    if (hi < 0 || fixTimeMs > this.timeAt(hi)) return false;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.timeAt(mid);
      if (t === fixTimeMs) return true;
      if (t < fixTimeMs) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Fixes [from, to) as tuples. */
  slice(from = 0, to = this.length): StoredFix[] {
    const out: StoredFix[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, this.length); i++) out.push(this.at(i)!);
    return out;
  }

  toArray(): StoredFix[] {
    return this.slice();
  }

  [Symbol.iterator](): Iterator<StoredFix> {
    return this.toArray()[Symbol.iterator]();
  }

  /** The tuples, as the state's JSON has always held the window. */
  toJSON(): StoredFix[] {
    return this.toArray();
  }

  /** This window followed by `fixes`, all newer than its last (the caller's promise). */
  append(fixes: readonly StoredFix[]): FixWindow {
    if (fixes.length === 0) return this;
    const end = this.start + this.length;
    let buf = this.buf;
    let start = this.start;
    if (end !== buf.used || end + fixes.length > buf.capacity) {
      const n = this.length + fixes.length;
      const room = Math.ceil(n * (n < SMALL ? GROWTH_SMALL : GROWTH));
      buf = new Slots(new Float64Array(Math.max(MIN_CAPACITY, room) * STRIDE));
      buf.data.set(this.buf.data.subarray(this.start * STRIDE, end * STRIDE));
      buf.used = this.length;
      start = 0;
    }
    const d = buf.data;
    let o = buf.used * STRIDE;
    for (const f of fixes) {
      d[o] = f[0];
      d[o + 1] = f[1];
      d[o + 2] = f[2];
      d[o + 3] = f[3];
      d[o + 4] = f[4];
      d[o + 5] = f[5];
      o += STRIDE;
    }
    buf.used += fixes.length;
    return new FixWindow(buf, start, this.length + fixes.length);
  }

  /** The window without its `n` oldest fixes. */
  dropFirst(n: number): FixWindow {
    if (n <= 0) return this;
    if (n >= this.length) return FixWindow.EMPTY;
    return new FixWindow(this.buf, this.start + n, this.length - n);
  }
}
