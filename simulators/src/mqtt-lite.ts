import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A minimal MQTT 3.1.1 client for large fleets: one TCP (or TLS) connection per device, as
 * the contract says, and only what a device needs: CONNECT with a will, SUBSCRIBE,
 * PUBLISH QoS 0/1 both ways, PUBACK, PINGREQ, DISCONNECT. About 5 KB of heap per connection
 * against about 17 KB for an mqtt.js client, which is what lets one process hold 100,000
 * devices. Keepalive is driven from outside (`maintain`), so a fleet needs no timer per
 * device. QoS 1 messages the broker has not PUBACKed are not kept here: the device contract
 * already keeps every message until the platform's `ack` and re-sends it.
 */
export interface LiteLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  will?: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean };
  keepaliveS?: number;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
  /** Source address (spread 100,000 connections over 127.0.0.x: ~28,000 ports per address). */
  localAddress?: string;
  /** For mqtts:// */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

export interface LinkHandlers {
  onConnect(): void;
  onMessage(topic: string, payload: Buffer): void;
  onError?(err: Error): void;
}

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
const CONNACK_REASON = [
  'accepted',
  'unacceptable protocol version',
  'identifier rejected',
  'server unavailable',
  'bad user name or password',
  'not authorized',
];

export class ConnectRefusedError extends Error {
  constructor(readonly returnCode: number) {
    super(`connection refused: ${CONNACK_REASON[returnCode] ?? `code ${returnCode}`}`);
  }
}

export function isLiteUrl(url: string): boolean {
  return /^(mqtt|mqtts|tcp|ssl|tls):\/\//.test(url);
}

export class LiteMqttLink {
  connected = false;
  #socket: Socket | undefined;
  #rest: Buffer | null = null;
  #nextId = 1;
  #stopped = false;
  #lastWriteMs = 0;
  #lastReadMs = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #first: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #failures = 0;

  constructor(
    private readonly options: LiteLinkOptions,
    private readonly handlers: LinkHandlers,
  ) {}

  /** Resolves on the first accepted CONNECT; rejects if the first attempt fails (it keeps trying). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#first = { resolve, reject };
      this.#open();
    });
  }

  get keepaliveMs(): number {
    return (this.options.keepaliveS ?? 60) * 1000;
  }

  publish(topic: string, payload: string | Buffer, qos: 0 | 1, retain = false): boolean {
    if (!this.connected) return false;
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const parts = [utf8(topic)];
    if (qos > 0) parts.push(u16(this.#packetId()));
    parts.push(body);
    this.#write(frame(0x30 | (qos << 1) | (retain ? 1 : 0), parts));
    return true;
  }

  subscribe(filters: readonly string[], qos: 0 | 1): void {
    if (!this.connected) return;
    const parts = [u16(this.#packetId())];
    for (const f of filters) parts.push(utf8(f), Buffer.from([qos]));
    this.#write(frame(0x82, parts));
  }

  /** Keepalive: a PINGREQ when idle, and a dead connection dropped (then re-opened). */
  maintain(nowMs: number): void {
    if (!this.connected || !this.#socket) return;
    if (nowMs - this.#lastReadMs > this.keepaliveMs * 1.5) {
      this.#socket.destroy();
      return;
    }
    if (nowMs - this.#lastWriteMs >= this.keepaliveMs / 2) this.#write(Buffer.from([0xc0, 0]));
  }

  /** Clean DISCONNECT (no will). */
  async end(): Promise<void> {
    this.#stop();
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      if (this.connected) socket.end(Buffer.from([0xe0, 0]));
      else socket.destroy();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /** Drops the connection without DISCONNECT: the broker publishes the will. */
  destroy(): void {
    this.#stop();
    this.#socket?.destroy();
  }

  #stop() {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#connectTimer);
  }

  #packetId(): number {
    const id = this.#nextId;
    this.#nextId = id >= 0xffff ? 1 : id + 1;
    return id;
  }

  #write(buf: Buffer) {
    this.#lastWriteMs = Date.now();
    this.#socket?.write(buf);
  }

  #open() {
    if (this.#stopped) return;
    const url = new URL(this.options.url);
    const secure = /^(mqtts|ssl|tls):$/.test(url.protocol);
    const port = Number(url.port || (secure ? 8883 : 1883));
    const host = url.hostname;
    const socket = secure
      ? tlsConnect({
          host,
          port,
          servername: host,
          ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
          ...(this.options.tls?.ca ? { ca: this.options.tls.ca } : {}),
          rejectUnauthorized: this.options.tls?.rejectUnauthorized ?? true,
        })
      : netConnect({
          host,
          port,
          noDelay: true,
          ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
        });
    this.#socket = socket;
    this.#rest = null;
    socket.on(secure ? 'secureConnect' : 'connect', () => this.#sendConnect());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#onClose(socket));
    this.#connectTimer = setTimeout(
      () => socket.destroy(new Error('connect timeout')),
      this.options.connectTimeoutMs ?? 10_000,
    );
  }

  #sendConnect() {
    const o = this.options;
    let flags = 0x02; // clean session: the contract's re-send covers anything lost
    const payload = [utf8(o.clientId)];
    if (o.will) {
      flags |= 0x04 | (o.will.qos << 3) | (o.will.retain ? 0x20 : 0);
      payload.push(utf8(o.will.topic), u16(o.will.payload.length), o.will.payload);
    }
    if (o.username !== undefined) {
      flags |= 0x80;
      payload.push(utf8(o.username));
      if (o.password !== undefined) {
        flags |= 0x40;
        payload.push(utf8(o.password));
      }
    }
    const header = Buffer.concat([utf8('MQTT'), Buffer.from([4, flags]), u16(o.keepaliveS ?? 60)]);
    this.#write(frame(0x10, [header, ...payload]));
  }

  #onData(chunk: Buffer) {
    this.#lastReadMs = Date.now();
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (buf.length - off < 2) break;
      let len = 0;
      let mult = 1;
      let i = off + 1;
      let complete = false;
      while (i < buf.length) {
        const byte = buf[i++]!;
        len += (byte & 0x7f) * mult;
        mult *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        if (mult > 128 ** 4) {
          this.#socket?.destroy(new Error('malformed remaining length'));
          return;
        }
      }
      if (!complete || i + len > buf.length) break;
      this.#packet(buf[off]!, buf.subarray(i, i + len));
      off = i + len;
    }
    // Copy the tail so a large chunk is not retained by a few leftover bytes.
    this.#rest = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
  }

  #packet(header: number, body: Buffer) {
    switch (header >> 4) {
      case 2: {
        // CONNACK
        clearTimeout(this.#connectTimer);
        const rc = body[1] ?? 255;
        if (rc !== 0) {
          this.#fail(new ConnectRefusedError(rc));
          this.#socket?.destroy();
          return;
        }
        this.connected = true;
        this.#failures = 0;
        this.handlers.onConnect();
        const first = this.#first;
        this.#first = undefined;
        first?.resolve();
        return;
      }
      case 3: {
        // PUBLISH
        const qos = (header >> 1) & 3;
        const topicLength = body.readUInt16BE(0);
        const topic = body.toString('utf8', 2, 2 + topicLength);
        let pos = 2 + topicLength;
        if (qos > 0) {
          const id = body.readUInt16BE(pos);
          pos += 2;
          // PUBACK (QoS 1); a device subscribes with QoS 1, so QoS 2 never arrives.
          this.#write(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
        }
        this.handlers.onMessage(topic, body.subarray(pos));
        return;
      }
      case 9: {
        // SUBACK: 0x80 is a refused filter (a broker that enforces the topic ACL).
        for (let i = 2; i < body.length; i++) {
          if (body[i] === 0x80) this.handlers.onError?.(new Error('subscription refused'));
        }
        return;
      }
      default:
        return; // PUBACK, PINGRESP
    }
  }

  #fail(err: Error) {
    const first = this.#first;
    if (first) {
      this.#first = undefined;
      first.reject(err);
    }
    this.handlers.onError?.(err);
  }

  #onClose(socket: Socket) {
    clearTimeout(this.#connectTimer);
    if (this.#socket !== socket) return;
    this.connected = false;
    if (this.#first) this.#fail(new Error('connection closed before CONNACK'));
    if (this.#stopped) return;
    // Back off on repeated failures, with jitter so a fleet does not reconnect in lockstep.
    this.#failures++;
    const base = this.options.reconnectPeriodMs ?? 1000;
    const delay = Math.min(60_000, base * 2 ** Math.min(this.#failures - 1, 6));
    this.#reconnectTimer = setTimeout(() => this.#open(), delay * (0.5 + Math.random()));
  }
}

function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u16(b.length), b]);
}

function u16(n: number): Buffer {
  return Buffer.from([(n >> 8) & 0xff, n & 0xff]);
}

function frame(header: number, parts: Buffer[]): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  const lenBytes: number[] = [];
  let x = length;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    lenBytes.push(byte);
  } while (x > 0);
  return Buffer.concat(
    [Buffer.from([header, ...lenBytes]), ...parts],
    1 + lenBytes.length + length,
  );
}
