import mqtt, { type MqttClient } from 'mqtt';
import {
  AckMessage,
  deviceTopic,
  type CheckinMessage,
  type EventMessage,
  type Fix,
  type HeartbeatMessage,
  type UplinkKind,
} from '@ccm/contracts';
import { LiteMqttLink, isLiteUrl } from './mqtt-lite';

/**
 * A device that follows the MQTT contract to the letter (shared/contracts/device-mqtt.md):
 * a growing `seq`, every message kept until an `ack` covers it, and re-sent after a reconnect
 * and whenever `resendAfterMs` pass without an ack covering it. Simulators and tests use it
 * exactly as a vendor's device would behave.
 *
 * Two transports: mqtt.js (default; what tests use) and a lean built-in client (`link:
 * 'lite'`, see mqtt-lite.ts) for fleets of up to 100,000 devices in one process. A fleet also
 * turns off the per-device timer (`timers: false`) and calls `tick()` from its scheduler.
 */
export interface DeviceClientOptions {
  url: string;
  deviceId: string;
  secret?: string;
  /** Contract: 30 s. Tests shorten it. */
  resendAfterMs?: number;
  /** First seq to use (a device keeps its seq across reboots). */
  startSeq?: number;
  /** Publish QoS for heartbeats: the contract allows 0. */
  heartbeatQos?: 0 | 1;
  /** Transport; `lite` needs an mqtt(s):// URL and falls back to mqtt.js otherwise. */
  link?: 'mqtt.js' | 'lite';
  /** Own re-send/keepalive timer (default true); false: the owner calls `tick()`. */
  timers?: boolean;
  /** Called for every command received; when set, `commands` is not filled. */
  onCommand?: (command: unknown) => void;
  /** Called when the connection is (re-)established. */
  onConnect?: () => void;
  localAddress?: string;
  keepaliveS?: number;
  reconnectPeriodMs?: number;
}

interface Pending {
  seq: number;
  topic: string;
  payload: string;
  qos: 0 | 1;
  sentAtMs: number;
}

/** What DeviceClient needs from a transport. */
interface Link {
  readonly connected: boolean;
  publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain?: boolean): void;
  subscribe(filters: string[]): void;
  maintain(nowMs: number): void;
  end(): Promise<void>;
  crash(): Promise<void>;
}

export class DeviceClient {
  readonly deviceId: string;
  #client: MqttClient | undefined;
  #link: Link | undefined;
  #seq: number;
  #pending = new Map<number, Pending>();
  #ackedSeq = -1;
  #timer: NodeJS.Timeout | undefined;
  #ackWaiters: { seq: number; resolve: () => void }[] = [];
  #offline = false;
  #onCommand: ((command: unknown) => void) | undefined;
  readonly commands: unknown[] = [];

  constructor(private readonly options: DeviceClientOptions) {
    this.deviceId = options.deviceId;
    this.#seq = options.startSeq ?? 1;
    this.#onCommand = options.onCommand;
  }

  /** Where commands go from now on (instead of `commands`). */
  setCommandHandler(handler: (command: unknown) => void): void {
    this.#onCommand = handler;
  }

  get ackedSeq(): number {
    return this.#ackedSeq;
  }
  get unacked(): number {
    return this.#pending.size;
  }
  get nextSeq(): number {
    return this.#seq;
  }
  /** Connected to the broker (whether or not "in coverage"). */
  get connected(): boolean {
    return this.#link?.connected ?? false;
  }
  /** Out of coverage (goOffline): messages are kept, not sent. */
  get offline(): boolean {
    return this.#offline;
  }

  async connect(): Promise<void> {
    const lite = this.options.link === 'lite' && isLiteUrl(this.options.url);
    this.#link = lite ? this.#liteLink() : this.#mqttJsLink();
    await (this.#link as Link & { ready: Promise<void> }).ready;
    if (this.options.timers !== false && this.#timer === undefined) {
      this.#timer = setInterval(() => this.tick(Date.now()), Math.min(1000, this.#resendAfter / 4));
    }
  }

  #onConnected() {
    // A connection that completes after close() (mqtt.js reconnecting) has nothing to do.
    const link = this.#link;
    if (!link) return;
    link.subscribe([deviceTopic(this.deviceId, 'ack'), deviceTopic(this.deviceId, 'cmd')]);
    link.publish(deviceTopic(this.deviceId, 'status'), 'online', 1, true);
    // Contract: re-send everything not yet acknowledged after (re)connecting.
    if (!this.#offline) this.resendAll();
    this.options.onConnect?.();
  }

  #willOptions() {
    return {
      topic: deviceTopic(this.deviceId, 'status'),
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    };
  }

  #mqttJsLink(): Link & { ready: Promise<void> } {
    const client = mqtt.connect(this.options.url, {
      clientId: this.deviceId,
      username: this.deviceId,
      ...(this.options.secret ? { password: this.options.secret } : {}),
      clean: true,
      reconnectPeriod: this.options.reconnectPeriodMs ?? 500,
      connectTimeout: 5000,
      ...(this.options.keepaliveS ? { keepalive: this.options.keepaliveS } : {}),
      ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
      will: this.#willOptions(),
    });
    this.#client = client;
    const link: Link & { ready: Promise<void> } = {
      get connected() {
        return client.connected;
      },
      publish: (topic, payload, qos, retain = false) => {
        client.publish(topic, payload, { qos, retain });
      },
      subscribe: (filters) => {
        client.subscribe(filters, { qos: 1 });
      },
      maintain: () => {},
      end: async () => {
        await client.endAsync();
      },
      crash: async () => {
        client.stream.destroy();
        await client.endAsync(true);
      },
      ready: new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      }),
    };
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('connect', () => this.#onConnected());
    return link;
  }

  #liteLink(): Link & { ready: Promise<void> } {
    const lite = new LiteMqttLink(
      {
        url: this.options.url,
        clientId: this.deviceId,
        username: this.deviceId,
        ...(this.options.secret ? { password: this.options.secret } : {}),
        will: this.#willOptions(),
        keepaliveS: this.options.keepaliveS ?? 60,
        reconnectPeriodMs: this.options.reconnectPeriodMs ?? 1000,
        ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
      },
      {
        onConnect: () => this.#onConnected(),
        onMessage: (topic, payload) => this.#onMessage(topic, payload),
      },
    );
    return {
      get connected() {
        return lite.connected;
      },
      publish: (topic, payload, qos, retain) => lite.publish(topic, payload, qos, retain),
      subscribe: (filters) => lite.subscribe(filters, 1),
      maintain: (now) => lite.maintain(now),
      end: () => lite.end(),
      crash: async () => lite.destroy(),
      ready: lite.start(),
    };
  }

  get #resendAfter(): number {
    return this.options.resendAfterMs ?? 30_000;
  }

  /** Skips seqs, as a device does that lost unsent messages in a reboot. */
  skipSeq(count: number): void {
    this.#seq += count;
  }

  /** Out of coverage: messages are kept and sent later (buffered upload). */
  goOffline(): void {
    this.#offline = true;
  }

  /** Back in coverage: the backlog goes out, oldest first. */
  goOnline(): void {
    this.#offline = false;
    this.resendAll();
  }

  /**
   * Loses the connection without a DISCONNECT (the broker publishes the will) and stays
   * away until `resume()`: signal lost, battery pulled. Messages are kept meanwhile.
   */
  async suspend(): Promise<void> {
    this.#offline = true;
    const link = this.#link;
    this.#link = undefined;
    this.#client = undefined;
    await link?.crash();
  }

  /** Reconnects after `suspend()`; the backlog goes out, oldest first. */
  async resume(): Promise<void> {
    if (this.#link) return;
    this.#offline = false;
    await this.connect();
  }

  sendFixes(fixes: Fix[]): number {
    return this.#send('fix', (seq) => ({ seq, fixes }));
  }
  sendEvent(event: Omit<EventMessage, 'seq'>): number {
    return this.#send('event', (seq) => ({ seq, ...event }));
  }
  sendHeartbeat(hb: Omit<HeartbeatMessage, 'seq'>): number {
    return this.#send('hb', (seq) => ({ seq, ...hb }), this.options.heartbeatQos ?? 1);
  }
  sendCheckin(checkin: Omit<CheckinMessage, 'seq'>): number {
    return this.#send('checkin', (seq) => ({ seq, ...checkin }));
  }
  sendCommandResult(id: string, status: 'done' | 'failed' | 'rejected'): number {
    return this.#send('cmd/result', (seq) => ({ seq, id, status }));
  }

  /** Publishes bytes as-is (for bad-input tests); not kept for re-sending. */
  publishRaw(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    if (!this.#client) {
      this.#link?.publish(topic, payload, qos);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.#client!.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Resolves when an ack covers `seq`. */
  waitAcked(seq: number, timeoutMs = 15_000): Promise<void> {
    if (this.#ackedSeq >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.deviceId}: seq ${seq} not acked within ${timeoutMs} ms (acked ${this.#ackedSeq})`,
            ),
          ),
        timeoutMs,
      );
      this.#ackWaiters.push({
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  resendAll(): void {
    if (!this.#link?.connected || this.#offline) return;
    for (const p of [...this.#pending.values()].sort((a, b) => a.seq - b.seq)) this.#publish(p);
  }

  /** Re-sends what waited too long for an ack, and keeps the connection alive. */
  tick(nowMs: number): void {
    this.#link?.maintain(nowMs);
    if (this.#offline || !this.#link?.connected || this.#pending.size === 0) return;
    for (const p of [...this.#pending.values()].sort((a, b) => a.seq - b.seq)) {
      if (nowMs - p.sentAtMs >= this.#resendAfter) this.#publish(p);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const link = this.#link;
    this.#link = undefined;
    await link?.end();
  }

  /** Drops the connection without a clean DISCONNECT (the will is published). */
  async crash(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const link = this.#link;
    this.#link = undefined;
    await link?.crash();
  }

  #send(kind: UplinkKind, body: (seq: number) => object, qos: 0 | 1 = 1): number {
    const seq = this.#seq++;
    const pending: Pending = {
      seq,
      topic: deviceTopic(this.deviceId, kind),
      payload: JSON.stringify(body(seq)),
      qos,
      sentAtMs: 0,
    };
    this.#pending.set(seq, pending);
    if (!this.#offline && this.#link?.connected) this.#publish(pending);
    return seq;
  }

  #publish(p: Pending) {
    p.sentAtMs = Date.now();
    this.#link!.publish(p.topic, p.payload, p.qos);
  }

  #onMessage(topic: string, payload: Buffer) {
    if (topic.endsWith('/cmd')) {
      let command: unknown;
      try {
        command = JSON.parse(payload.toString('utf8'));
      } catch {
        return; // a device ignores a command it cannot read
      }
      if (this.#onCommand) this.#onCommand(command);
      else this.commands.push(command);
      return;
    }
    let ack;
    try {
      ack = AckMessage.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      return;
    }
    if (ack.seq > this.#ackedSeq) this.#ackedSeq = ack.seq;
    for (const seq of this.#pending.keys()) if (seq <= ack.seq) this.#pending.delete(seq);
    if (this.#ackWaiters.length === 0) return;
    this.#ackWaiters = this.#ackWaiters.filter((w) => {
      if (w.seq <= this.#ackedSeq) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}
