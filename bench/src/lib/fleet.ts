import { WireClient } from './mqtt-wire';

/**
 * Many simulated devices multiplexed over a few MQTT connections. Each device publishes on
 * its own topic `ccm/v1/dev/{id}/fix` with its own growing `seq` (the gateway does not care
 * which connection a topic arrives on when the broker has no ACL), keeps every message until
 * the platform's `ack` covers it, and re-sends what is still unacknowledged after 30 s, as
 * the contract says. One extra connection listens to `ccm/v1/dev/+/ack` and counts acks per
 * device (a wildcard instead of 50,000 subscriptions: the same delivery work for the broker).
 *
 * Two ways to drive it:
 * - closed loop: at most `window` messages outstanding (published, not yet acknowledged, or
 *   for the pass-through baseline not yet received), at most `perDevice` per device: the
 *   highest rate the system under test sustains;
 * - fixed rate: `fixesPerSecond`, whatever comes back (background load).
 */
export interface FleetOptions {
  url: string;
  deviceIds: readonly string[];
  connections: number;
  fixesPerMessage: number;
  /** Count the platform's acks (off for the pass-through baseline: nobody acks there). */
  trackAcks: boolean;
  /** Contract: 30 s. */
  resendAfterMs?: number;
  /** Home of device i: [lon, lat]; default: spread over Nanning. */
  home?: (i: number) => [number, number];
}

interface Pending {
  seq: number;
  payload: Buffer;
  sentAtMs: number;
  fixes: number;
}

const ACK_PREFIX = 'ccm/v1/dev/'.length;

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Fleet {
  readonly n: number;
  #conns: WireClient[] = [];
  #ackConn: WireClient | undefined;
  #topics: string[];
  #index = new Map<string, number>();
  #seq: Float64Array;
  #lastT: Float64Array;
  #lon: Float64Array;
  #lat: Float64Array;
  #pending: Pending[][];
  #withPending = new Set<number>();
  readonly ackedSeq: Float64Array;
  readonly publishedFixesPerDevice: Uint32Array;
  #cursor = 0;
  #pumpScheduled = false;
  #mode:
    | { kind: 'idle' }
    | { kind: 'closed'; window: number; perDevice: number; outstanding: () => number }
    | { kind: 'rate'; fixesPerSecond: number; startedMs: number; startCount: number } = {
    kind: 'idle',
  };
  #rateTimer: NodeJS.Timeout | undefined;
  #resendTimer: NodeJS.Timeout | undefined;
  #random = rng(42);
  #failed: Error | undefined;

  publishedMessages = 0;
  publishedFixes = 0;
  ackedMessages = 0;
  ackedFixes = 0;
  resentMessages = 0;
  acksReceived = 0;
  /** Publish → ack latency of acknowledged messages, ms (a sample: every 16th). */
  ackLatencies: number[] = [];
  onAck: ((device: number, seq: number) => void) | undefined;

  constructor(private readonly options: FleetOptions) {
    this.n = options.deviceIds.length;
    this.#topics = options.deviceIds.map((id) => `ccm/v1/dev/${id}/fix`);
    options.deviceIds.forEach((id, i) => this.#index.set(id, i));
    this.#seq = new Float64Array(this.n);
    this.#lastT = new Float64Array(this.n);
    this.#lon = new Float64Array(this.n);
    this.#lat = new Float64Array(this.n);
    this.ackedSeq = new Float64Array(this.n);
    this.publishedFixesPerDevice = new Uint32Array(this.n);
    this.#pending = Array.from({ length: this.n }, () => []);
    for (let i = 0; i < this.n; i++) {
      const [lon, lat] = options.home?.(i) ?? [
        108.2 + this.#random() * 0.3,
        22.7 + this.#random() * 0.25,
      ];
      this.#lon[i] = lon;
      this.#lat[i] = lat;
    }
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  /** Messages published and not yet acknowledged by the platform. */
  get unacked(): number {
    return this.publishedMessages - this.ackedMessages;
  }

  async connect(): Promise<void> {
    const tag = `${process.pid}-${Math.random().toString(16).slice(2, 6)}`;
    const onClose = (err?: Error) => {
      this.#failed ??= err ?? new Error('connection closed');
    };
    this.#conns = Array.from(
      { length: this.options.connections },
      (_, i) =>
        new WireClient(this.options.url, `bench-pub-${tag}-${i}`, {
          onClose,
          onPuback: () => this.#schedulePump(),
        }),
    );
    await Promise.all(this.#conns.map((c) => c.connect()));
    if (this.options.trackAcks) {
      this.#ackConn = new WireClient(this.options.url, `bench-acks-${tag}`, {
        onClose,
        onPublish: (topic, payload) => this.#onAck(topic, payload),
      });
      await this.#ackConn.connect();
      await this.#ackConn.subscribe(['ccm/v1/dev/+/ack'], 1);
      const resendAfter = this.options.resendAfterMs ?? 30_000;
      this.#resendTimer = setInterval(() => this.#resend(resendAfter), 1000);
      this.#resendTimer.unref();
    }
  }

  #onAck(topic: string, payload: Buffer) {
    this.acksReceived++;
    const d = this.#index.get(topic.slice(ACK_PREFIX, topic.length - 4));
    if (d === undefined) return;
    let seq: number;
    try {
      seq = (JSON.parse(payload.toString()) as { seq: number }).seq;
    } catch {
      return;
    }
    if (!(seq > this.ackedSeq[d]!)) return;
    this.ackedSeq[d] = seq;
    const list = this.#pending[d]!;
    let k = 0;
    const now = performance.now();
    while (k < list.length && list[k]!.seq <= seq) {
      const p = list[k]!;
      this.ackedMessages++;
      this.ackedFixes += p.fixes;
      if ((this.ackedMessages & 15) === 0) this.ackLatencies.push(now - p.sentAtMs);
      k++;
    }
    if (k > 0) list.splice(0, k);
    if (list.length === 0) this.#withPending.delete(d);
    this.onAck?.(d, seq);
    this.#schedulePump();
  }

  #resend(afterMs: number) {
    const now = performance.now();
    for (const d of this.#withPending) {
      const list = this.#pending[d]!;
      if (list.length === 0 || now - list[0]!.sentAtMs < afterMs) continue;
      // Contract: re-send everything not acknowledged, oldest first.
      for (const p of list) {
        this.#conn(d).publish(this.#topics[d]!, p.payload, 1);
        p.sentAtMs = now;
        this.resentMessages++;
      }
    }
  }

  #conn(d: number): WireClient {
    return this.#conns[d % this.#conns.length]!;
  }

  /** Builds and publishes device d's next message. */
  #publish(d: number) {
    const seq = ++this.#seq[d]!;
    const fpm = this.options.fixesPerMessage;
    const now = Date.now();
    let t = Math.max(this.#lastT[d]! + 1, now);
    let body = `{"seq":${seq},"fixes":[`;
    for (let k = 0; k < fpm; k++) {
      // ±1 m of jitter: fixes are 1 ms apart, and the engine rejects implausible speeds.
      const lat = this.#lat[d]! + (this.#random() - 0.5) * 0.00002;
      const lon = this.#lon[d]! + (this.#random() - 0.5) * 0.00002;
      const acc = 3 + Math.floor(this.#random() * 120) / 10;
      body += `${k ? ',' : ''}{"t":${t},"lat":${lat.toFixed(6)},"lon":${lon.toFixed(6)},"acc":${acc},"src":"gnss","spd":0.8,"hdg":${(seq * 7) % 360},"sat":9}`;
      this.#lastT[d] = t;
      t++;
    }
    body += ']}';
    const payload = Buffer.from(body);
    this.#conn(d).publish(this.#topics[d]!, payload, 1);
    this.publishedMessages++;
    this.publishedFixes += fpm;
    this.publishedFixesPerDevice[d]! += fpm;
    if (this.options.trackAcks) {
      this.#pending[d]!.push({ seq, payload, sentAtMs: performance.now(), fixes: fpm });
      this.#withPending.add(d);
    }
  }

  #backlogged(): boolean {
    for (const c of this.#conns) if (c.backlog > 4 * 1024 * 1024) return true;
    return false;
  }

  #schedulePump() {
    if (this.#pumpScheduled || this.#mode.kind !== 'closed') return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pumpClosed();
    });
  }

  #pumpClosed() {
    const mode = this.#mode;
    if (mode.kind !== 'closed' || this.#failed) return;
    if (this.#backlogged()) {
      setTimeout(() => this.#schedulePump(), 2);
      return;
    }
    let budget = Math.min(mode.window - mode.outstanding(), 1000);
    const track = this.options.trackAcks;
    let skipped = 0;
    while (budget > 0 && skipped < this.n) {
      const d = this.#cursor;
      this.#cursor = d + 1 === this.n ? 0 : d + 1;
      if (track && this.#pending[d]!.length >= mode.perDevice) {
        skipped++;
        continue;
      }
      this.#publish(d);
      budget--;
    }
    for (const c of this.#conns) c.flush();
    // More credit may be left (budget was capped at 1000 per round): go on next turn.
    if (mode.window - mode.outstanding() > 0 && skipped < this.n) this.#schedulePump();
  }

  /** Closed loop: keep `window` messages outstanding. */
  runClosed(window: number, perDevice = Infinity, outstanding = () => this.unacked): void {
    this.#mode = { kind: 'closed', window, perDevice, outstanding };
    this.#schedulePump();
  }

  /** Call when `outstanding` changed from outside (pass-through: the subscriber's count). */
  kick(): void {
    this.#schedulePump();
  }

  /** Fixed rate in fixes per second (open loop), every 5 ms. */
  runRate(fixesPerSecond: number): void {
    this.#mode = {
      kind: 'rate',
      fixesPerSecond,
      startedMs: performance.now(),
      startCount: this.publishedFixes,
    };
    clearInterval(this.#rateTimer);
    this.#rateTimer = setInterval(() => {
      const mode = this.#mode;
      if (mode.kind !== 'rate' || this.#failed) return;
      const due =
        ((performance.now() - mode.startedMs) / 1000) * mode.fixesPerSecond -
        (this.publishedFixes - mode.startCount);
      const messages = Math.floor(due / this.options.fixesPerMessage);
      for (let i = 0; i < messages; i++) {
        const d = this.#cursor;
        this.#cursor = d + 1 === this.n ? 0 : d + 1;
        this.#publish(d);
      }
      for (const c of this.#conns) c.flush();
    }, 5);
  }

  /** Stops publishing new messages (acks still counted, re-sends still made). */
  pause(): void {
    this.#mode = { kind: 'idle' };
    clearInterval(this.#rateTimer);
  }

  /** Waits until every published message is acknowledged (or the timeout). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.unacked > 0 && Date.now() < deadline && !this.#failed) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.unacked === 0;
  }

  /** Devices whose last published seq is not covered by an ack. */
  unackedDevices(): number {
    let n = 0;
    for (let d = 0; d < this.n; d++) if (this.ackedSeq[d]! < this.#seq[d]!) n++;
    return n;
  }

  async close(): Promise<void> {
    this.pause();
    clearInterval(this.#resendTimer);
    await Promise.all(
      [...this.#conns, ...(this.#ackConn ? [this.#ackConn] : [])].map((c) => c.end()),
    );
  }
}
