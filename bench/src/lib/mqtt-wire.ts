import { connect, type Socket } from 'node:net';

/**
 * A lean MQTT 3.1.1 client for the load generator: CONNECT, PUBLISH QoS 0/1 both ways,
 * PUBACK, SUBSCRIBE, PINGREQ. Packets are encoded straight into buffers and written in one
 * `write` per pump round, so one connection carries many simulated devices (each publishing
 * on its own topic) at a few µs per message. It keeps no outgoing store: the fleet keeps
 * every message until the platform's `ack`, as the device contract says.
 *
 * Not a device implementation (no will, no reconnect): a dropped connection fails the run.
 */
export interface WireHandlers {
  /** An incoming PUBLISH (already PUBACKed when QoS 1). */
  onPublish?(topic: string, payload: Buffer): void;
  /** The broker's PUBACK of one of our QoS 1 publishes. */
  onPuback?(packetId: number): void;
  onClose?(err?: Error): void;
}

const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

export class WireClient {
  #socket: Socket | undefined;
  #rest: Buffer | null = null;
  #out: Buffer[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #nextId = 1;
  #pending = new Map<number, () => void>();
  #ping: NodeJS.Timeout | undefined;
  #closed = false;
  #connack: ((code: number) => void) | undefined;
  /** QoS 1 publishes the broker has not PUBACKed yet. */
  inflight = 0;
  bytesOut = 0;

  constructor(
    private readonly url: string,
    readonly clientId: string,
    private readonly handlers: WireHandlers = {},
    private readonly keepaliveS = 60,
  ) {}

  async connect(): Promise<void> {
    const u = new URL(this.url);
    const socket = connect({ host: u.hostname, port: Number(u.port || 1883), noDelay: true });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => {
      clearInterval(this.#ping);
      if (!this.#closed) this.handlers.onClose?.(new Error(`${this.clientId}: connection lost`));
    });
    socket.on('error', (err) => {
      if (!this.#closed) this.handlers.onClose?.(err);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const id = utf8(this.clientId);
    const header = Buffer.from([
      0x00,
      0x04,
      0x4d,
      0x51,
      0x54,
      0x54, // "MQTT"
      0x04, // 3.1.1
      0x02, // clean session
      (this.keepaliveS >> 8) & 0xff,
      this.keepaliveS & 0xff,
    ]);
    const body = Buffer.concat([header, id]);
    const code = new Promise<number>((resolve) => (this.#connack = resolve));
    socket.write(Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]));
    const rc = await code;
    if (rc !== 0) throw new Error(`${this.clientId}: CONNACK ${rc}`);
    this.#ping = setInterval(() => this.#write(PINGREQ), (this.keepaliveS * 1000) / 2);
    this.#ping.unref();
  }

  /** Bytes queued in this client and the socket, not yet handed to the kernel. */
  get backlog(): number {
    return this.#outBytes + (this.#socket?.writableLength ?? 0);
  }

  #id(): number {
    const id = this.#nextId;
    this.#nextId = id === 65535 ? 1 : id + 1;
    return id;
  }

  /** Queues a PUBLISH; returns its packet id (0 for QoS 0). */
  publish(topic: string, payload: Buffer | string, qos: 0 | 1): number {
    const t = Buffer.from(topic, 'utf8');
    const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    const len = 2 + t.length + (qos ? 2 : 0) + p.length;
    const rl = remainingLength(len);
    const buf = Buffer.allocUnsafe(1 + rl.length + len);
    let o = 0;
    buf[o++] = 0x30 | (qos << 1);
    for (const b of rl) buf[o++] = b;
    buf.writeUInt16BE(t.length, o);
    o += 2;
    o += t.copy(buf, o);
    let id = 0;
    if (qos) {
      id = this.#id();
      buf.writeUInt16BE(id, o);
      o += 2;
      this.inflight++;
    }
    p.copy(buf, o);
    this.#write(buf);
    return id;
  }

  async subscribe(filters: string[], qos: 0 | 1): Promise<void> {
    const id = this.#id();
    const parts = filters.flatMap((f) => [utf8(f), Buffer.from([qos])]);
    const body = Buffer.concat([Buffer.from([id >> 8, id & 0xff]), ...parts]);
    const done = new Promise<void>((resolve) => this.#pending.set(id, resolve));
    this.#write(Buffer.concat([Buffer.from([0x82, ...remainingLength(body.length)]), body]));
    await done;
  }

  #write(buf: Buffer) {
    this.#out.push(buf);
    this.#outBytes += buf.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes everything queued in one syscall-sized chunk. */
  flush() {
    this.#flushScheduled = false;
    if (this.#out.length === 0 || !this.#socket) return;
    const data = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out, this.#outBytes);
    this.bytesOut += data.length;
    this.#out = [];
    this.#outBytes = 0;
    this.#socket.write(data);
  }

  #onData(chunk: Buffer) {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    let o = 0;
    const acks: Buffer[] = [];
    for (;;) {
      if (buf.length - o < 2) break;
      const type = buf[o]!;
      let mult = 1;
      let len = 0;
      let i = o + 1;
      let complete = false;
      for (; i < buf.length && i < o + 5; i++) {
        const b = buf[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || buf.length - i < len) break;
      const body = buf.subarray(i, i + len);
      o = i + len;
      switch (type >> 4) {
        case 2: // CONNACK
          this.#connack?.(body[1] ?? 255);
          break;
        case 3: {
          // PUBLISH
          const qos = (type >> 1) & 3;
          const tl = body.readUInt16BE(0);
          const topic = body.toString('utf8', 2, 2 + tl);
          let p = 2 + tl;
          if (qos > 0) {
            const id = body.readUInt16BE(p);
            p += 2;
            acks.push(Buffer.from([0x40, 0x02, id >> 8, id & 0xff]));
          }
          this.handlers.onPublish?.(topic, body.subarray(p));
          break;
        }
        case 4: {
          // PUBACK
          this.inflight--;
          this.handlers.onPuback?.(body.readUInt16BE(0));
          break;
        }
        case 9: {
          // SUBACK
          const id = body.readUInt16BE(0);
          this.#pending.get(id)?.();
          this.#pending.delete(id);
          break;
        }
        default: // PINGRESP and anything else: nothing to do
      }
    }
    this.#rest = o < buf.length ? Buffer.from(buf.subarray(o)) : null;
    if (acks.length > 0) for (const a of acks) this.#write(a);
  }

  async end(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#ping);
    this.flush();
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end(DISCONNECT);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 2000).unref();
    });
  }
}
