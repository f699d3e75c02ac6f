import type { EventMessage, Fix } from '@ccm/contracts';
import type { SimClock } from './clock';
import type { FixEnv, NoiseOptions } from './fixes';
import { alongPath, polylineLengthM, route, type LonLat } from './geo';
import type { SimWristband } from './wristband';

/**
 * A wristband driven step by step by a scenario: travel here, stay there, report an event,
 * lose coverage. Every message carries a device-clock time; a message whose time has come
 * is sent at once (consecutive fixes together, as a device uploads a backlog), one whose
 * time has not come is waited for. So the same script plays live on a device that has been
 * reporting until now, and plays at once on a fresh device whose script `begin`s in the
 * past: the lead-up arrives as a buffered upload and the part that matters lands at now.
 */
export class ScriptedWristband {
  /** Device time the script has reached. */
  cursor: number;
  #nextSampleMs: number;
  #nextHbMs: number;
  #batch: Fix[] = [];
  #lastSeq = 0;
  /** Sees every fix the script reports (scenarios count the ones past a zone edge). */
  onFix: ((fix: Fix) => void) | undefined;

  constructor(
    readonly device: SimWristband,
    readonly clock: SimClock,
    readonly heartbeatS: number,
    private readonly signal?: AbortSignal,
  ) {
    this.cursor = clock.now();
    this.#nextSampleMs = this.cursor;
    this.#nextHbMs = this.cursor;
  }

  get now(): number {
    return this.clock.now();
  }
  get position(): LonLat {
    return this.device.position;
  }
  get intervalMs(): number {
    return this.device.intervalS * 1000;
  }
  /** Highest seq sent so far (to wait for its ack). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Starts the script at device time `t` (≤ now, after the device's last fix). */
  beginAt(t: number): number {
    const last = this.device.lastFixMs;
    if (last !== null && t <= last) throw new Error('a script cannot start before the last fix');
    this.cursor = Math.round(Math.min(t, this.clock.now()));
    this.#nextSampleMs = this.cursor;
    this.#nextHbMs = this.cursor;
    return this.cursor;
  }

  /**
   * Starts the script `leadMs` before now, or just after the device's last fix if that is
   * later (a live device cannot rewrite what it already reported).
   */
  begin(leadMs: number): number {
    const now = this.clock.now();
    const last = this.device.lastFixMs;
    this.cursor = Math.round(Math.max(now - leadMs, last === null ? -Infinity : last + 1000));
    this.#nextSampleMs = this.cursor;
    this.#nextHbMs = this.cursor;
    return this.cursor;
  }

  /** Walks or drives to `to` (or along `path`), a fix every interval on the way. */
  async travel(
    to: LonLat | LonLat[],
    speedMps: number,
    options: { env?: FixEnv; bend?: number } = {},
  ): Promise<void> {
    const path = Array.isArray(to[0])
      ? (to as LonLat[])
      : route(this.position, to as LonLat, options.bend ?? 0.05);
    const lengthM = polylineLengthM(path);
    const departMs = this.cursor;
    const arriveMs = departMs + Math.round((lengthM / speedMps) * 1000);
    const env = options.env ?? (speedMps > 3 ? 'vehicle' : 'outdoor');
    while (this.#nextSampleMs <= arriveMs) {
      const t = this.#nextSampleMs;
      const { p, hdg } = alongPath(path, ((t - departMs) / 1000) * speedMps);
      await this.#fix(p, t, env, {}, { speedMps, hdg });
    }
    this.cursor = arriveMs;
    this.device.noteFix(path[path.length - 1]!, this.device.lastFixMs ?? arriveMs);
    await this.flush();
    await this.#until(this.cursor);
  }

  /**
   * Stays for `durationMs`, a fix every interval. `place` may vary per fix (drift at an
   * edge): it returns the true position and the noise to apply.
   */
  async stay(
    durationMs: number,
    env: FixEnv,
    place: (t: number, k: number) => { p: LonLat; noise?: NoiseOptions; env?: FixEnv } = () => ({
      p: this.position,
    }),
  ): Promise<void> {
    const endMs = this.cursor + durationMs;
    for (let k = 0; this.#nextSampleMs <= endMs; k++) {
      const t = this.#nextSampleMs;
      const at = place(t, k);
      await this.#fix(at.p, t, at.env ?? env, at.noise ?? {});
    }
    this.cursor = endMs;
    await this.flush();
    await this.#until(this.cursor);
  }

  /** One fix now, at the cursor, whatever the interval (as after `locate`). */
  async report(env: FixEnv, noise: NoiseOptions = {}): Promise<void> {
    await this.#until(this.cursor);
    await this.#fix(this.position, this.cursor, env, noise);
    await this.flush();
  }

  /** Time passes without any fix (device switched off). */
  async pass(durationMs: number): Promise<void> {
    await this.flush();
    this.cursor += durationMs;
    this.#nextSampleMs = Math.max(this.#nextSampleMs, this.cursor);
    this.#nextHbMs = Math.max(this.#nextHbMs, this.cursor);
    await this.#until(this.cursor);
  }

  /** A device event at the cursor (after the fixes before it). */
  async event(
    type: string,
    fields: Omit<EventMessage, 'seq' | 't' | 'type'> = {},
  ): Promise<number> {
    this.#send(); // the fixes before it go first, even out of coverage
    await this.#until(this.cursor);
    this.#lastSeq = this.device.event({ t: this.cursor, type, ...fields });
    return this.#lastSeq;
  }

  async heartbeat(fields: { bat?: number; chg?: boolean } = {}): Promise<number> {
    await this.flush();
    await this.#until(this.cursor);
    if (fields.bat !== undefined)
      this.device.noteBattery(fields.bat, fields.chg ?? false, this.cursor);
    this.#lastSeq = this.device.heartbeat(this.cursor, 'indoor', fields.bat);
    return this.#lastSeq;
  }

  /** Advances the cursor by `ms` (no fix), e.g. a few seconds between two events. */
  async advance(ms: number): Promise<void> {
    await this.flush();
    this.cursor += ms;
    await this.#until(this.cursor);
  }

  /** Out of coverage: messages are kept and uploaded when `online()` is called. */
  async offline(): Promise<void> {
    await this.flush();
    this.device.client.goOffline();
  }
  async online(): Promise<void> {
    await this.#until(this.cursor);
    this.#send();
    this.device.client.goOnline();
  }

  /** The connection goes (no DISCONNECT: the broker publishes the will), messages are kept. */
  async suspend(): Promise<void> {
    await this.flush();
    await this.#until(this.cursor);
    await this.device.client.suspend();
    // The connection drops now, on the real clock: the silence is counted from here.
    this.cursor = Math.max(this.cursor, this.clock.now());
  }
  async resume(): Promise<void> {
    await this.#until(this.cursor);
    this.#send();
    await this.device.client.resume();
  }

  /**
   * Sends the fixes collected so far (one message per 500). Out of coverage they are held
   * and go out as one backlog on reconnecting, as a device packs what it recorded (also so
   * the newest of them arrive together, not hours of history first and the rest later).
   */
  async flush(): Promise<void> {
    if (this.device.client.offline) {
      if (this.#batch.length >= 500)
        this.#lastSeq = this.device.sendFixes(this.#batch.splice(0, 500));
      return;
    }
    this.#send();
  }

  #send() {
    while (this.#batch.length > 0) {
      this.#lastSeq = this.device.sendFixes(this.#batch.splice(0, 500));
    }
  }

  /** Resolves when everything the script sent is acknowledged by the platform. */
  async acked(timeoutMs = 30_000): Promise<void> {
    await this.flush();
    if (this.#lastSeq > 0) await this.device.client.waitAcked(this.#lastSeq, timeoutMs);
  }

  async #fix(
    p: LonLat,
    t: number,
    env: FixEnv,
    noise: NoiseOptions,
    motion: { speedMps?: number; hdg?: number | null } = {},
  ) {
    if (t > this.clock.now()) {
      await this.flush();
      await this.#until(t);
    }
    while (this.#nextHbMs <= t) {
      // A heartbeat says "alive now": out of coverage there is nothing to say later.
      if (!this.device.client.offline) {
        await this.flush();
        this.#lastSeq = this.device.heartbeat(
          this.#nextHbMs,
          env === 'indoor' ? 'indoor' : 'outdoor',
        );
      }
      this.#nextHbMs += this.heartbeatS * 1000;
    }
    const fix = this.device.observe(p, t, env, noise, motion);
    this.#batch.push(fix);
    this.onFix?.(fix);
    this.device.noteFix(p, t);
    this.#nextSampleMs = t + this.intervalMs;
    if (this.#batch.length >= 500) await this.flush();
  }

  /** Waits until the device clock reaches `t` (never sends anything from the future). */
  async #until(t: number): Promise<void> {
    for (;;) {
      if (this.signal?.aborted) throw new Error('scenario stopped');
      const now = this.clock.now();
      if (now >= t) return;
      const waitMs = Math.max(5, Math.min(1000, this.clock.realAt(t) - this.clock.realNow()));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
