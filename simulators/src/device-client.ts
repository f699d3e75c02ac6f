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

/**
 * A device that follows the MQTT contract to the letter (shared/contracts/device-mqtt.md):
 * a growing `seq`, every message kept until an `ack` covers it, and re-sent after a reconnect
 * and whenever `resendAfterMs` pass without an ack covering it. Simulators and tests use it
 * exactly as a vendor's device would behave.
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
}

interface Pending {
  seq: number;
  topic: string;
  payload: string;
  qos: 0 | 1;
  sentAtMs: number;
}

export class DeviceClient {
  readonly deviceId: string;
  #client: MqttClient | undefined;
  #seq: number;
  #pending = new Map<number, Pending>();
  #ackedSeq = -1;
  #timer: NodeJS.Timeout | undefined;
  #ackWaiters: { seq: number; resolve: () => void }[] = [];
  #offline = false;
  readonly commands: unknown[] = [];

  constructor(private readonly options: DeviceClientOptions) {
    this.deviceId = options.deviceId;
    this.#seq = options.startSeq ?? 1;
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

  async connect(): Promise<void> {
    const client = mqtt.connect(this.options.url, {
      clientId: this.deviceId,
      username: this.deviceId,
      ...(this.options.secret ? { password: this.options.secret } : {}),
      clean: true,
      reconnectPeriod: 500,
      connectTimeout: 5000,
      will: {
        topic: deviceTopic(this.deviceId, 'status'),
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
      },
    });
    this.#client = client;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('connect', () => {
      client.subscribe([`ccm/v1/dev/${this.deviceId}/ack`, `ccm/v1/dev/${this.deviceId}/cmd`], {
        qos: 1,
      });
      client.publish(deviceTopic(this.deviceId, 'status'), 'online', { qos: 1, retain: true });
      // Contract: re-send everything not yet acknowledged after (re)connecting.
      if (!this.#offline) this.resendAll();
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    this.#timer = setInterval(() => this.#resendStale(), Math.min(1000, this.#resendAfter / 4));
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
    const client = this.#client;
    if (!client?.connected || this.#offline) return;
    for (const p of [...this.#pending.values()].sort((a, b) => a.seq - b.seq)) this.#publish(p);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client?.endAsync();
  }

  /** Drops the connection without a clean DISCONNECT (the will is published). */
  async crash(): Promise<void> {
    clearInterval(this.#timer);
    this.#client?.stream.destroy();
    await this.#client?.endAsync(true);
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
    if (!this.#offline && this.#client?.connected) this.#publish(pending);
    return seq;
  }

  #publish(p: Pending) {
    p.sentAtMs = Date.now();
    this.#client!.publish(p.topic, p.payload, { qos: p.qos });
  }

  #resendStale() {
    if (this.#offline || !this.#client?.connected) return;
    const now = Date.now();
    for (const p of [...this.#pending.values()].sort((a, b) => a.seq - b.seq)) {
      if (now - p.sentAtMs >= this.#resendAfter) this.#publish(p);
    }
  }

  #onMessage(topic: string, payload: Buffer) {
    if (topic.endsWith('/cmd')) {
      try {
        this.commands.push(JSON.parse(payload.toString('utf8')));
      } catch {
        // a device ignores a command it cannot read
      }
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
    this.#ackWaiters = this.#ackWaiters.filter((w) => {
      if (w.seq <= this.#ackedSeq) {
        w.resolve();
        return false;
      }
      return true;
    });
  }
}
