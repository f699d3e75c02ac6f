import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';

/** An order window during which the device's fixes are positions of `subjectNo`. */
export interface OrderWindow {
  orderId: string;
  subjectId: string;
  subjectNo: number;
  jurisdictionCode: string;
  startsAtMs: number;
  /** Effective end: the earlier of the approved end and an early end. */
  endsAtMs: number;
}

export interface DeviceInfo {
  id: string;
  no: number;
  kind: 'wristband' | 'terminal' | 'phone';
  status: 'active' | 'inactive' | 'retired';
  jurisdictionCode: string;
  orders: OrderWindow[];
  /** Seq and fix bookkeeping, owned by this gateway process (see docs/adr/0004). */
  runtime: DeviceRuntime;
}

export interface DeviceRuntime {
  /** Highest seq committed. */
  lastSeq: number | null;
  /** Contiguous committed prefix: every seq ≤ this is stored (or forgiven). The ack. */
  ackedSeq: number | null;
  /** Committed seqs above `ackedSeq`, ascending: they wait for the gap below them. */
  above: number[];
  /** When the ack got stuck behind a gap, ms. */
  stuckSinceMs: number | null;
  seqGaps: number;
  latestFixMs: number | null;
}

/** The order active at `tMs`, if any. */
export function orderAt(device: DeviceInfo, tMs: number): OrderWindow | undefined {
  for (const order of device.orders) {
    if (tMs >= order.startsAtMs && tMs < order.endsAtMs) return order;
  }
  return undefined;
}

/**
 * Devices this gateway has seen, with their monitoring orders and runtime state. Loaded on
 * first sight; `invalidate()` (called when the server changes a device or an order) makes
 * the next message reload orders while keeping the runtime bookkeeping.
 */
export class DeviceRegistry {
  readonly #devices = new Map<string, DeviceInfo>();
  readonly #missing = new Map<string, number>();
  readonly #stale = new Set<string>();
  readonly #byNo = new Map<number, DeviceInfo>();

  constructor(
    private readonly db: Kysely<DB>,
    /** How long an unknown id is remembered as unknown, ms (a flood must not hit the DB). */
    private readonly negativeTtlMs = 5000,
  ) {}

  /** A device already loaded, by its integer number. */
  byNo(no: number): DeviceInfo | undefined {
    return this.#byNo.get(no);
  }

  invalidate(deviceId?: string): void {
    if (deviceId === undefined) {
      for (const id of this.#devices.keys()) this.#stale.add(id);
      this.#missing.clear();
    } else {
      this.#stale.add(deviceId);
      this.#missing.delete(deviceId);
    }
  }

  /** Resolves many ids with at most two queries; unknown ids map to undefined. */
  async resolve(
    ids: Iterable<string>,
    nowMs: number,
  ): Promise<Map<string, DeviceInfo | undefined>> {
    const out = new Map<string, DeviceInfo | undefined>();
    const load: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.#devices.get(id);
      if (known && !this.#stale.has(id)) {
        out.set(id, known);
      } else if ((this.#missing.get(id) ?? 0) > nowMs) {
        out.set(id, undefined);
      } else {
        load.push(id);
      }
    }
    if (load.length === 0) return out;

    const rows = await this.db
      .selectFrom('devices')
      .leftJoin('device_state', 'device_state.device_no', 'devices.no')
      .select([
        'devices.id',
        'devices.no',
        'devices.kind',
        'devices.status',
        'devices.jurisdiction_code',
        'device_state.last_seq',
        'device_state.acked_seq',
        'device_state.seq_gaps',
        'device_state.last_fix_t',
      ])
      .where('devices.id', 'in', load)
      .execute();
    const orders = await this.db
      .selectFrom('monitoring_orders as o')
      .innerJoin('subjects as s', 's.id', 'o.subject_id')
      .select([
        'o.id',
        'o.device_id',
        'o.subject_id',
        's.no as subject_no',
        's.jurisdiction_code',
        'o.starts_at',
        'o.ends_at',
        'o.ended_at',
      ])
      .where('o.device_id', 'in', load)
      .execute();

    // Orders by device first: filtering the whole list per device was quadratic (2,000 new
    // devices in a batch: 4 million comparisons, 5 % of the gateway's CPU at start-up).
    const ordersOf = new Map<string, typeof orders>();
    for (const o of orders) {
      const list = ordersOf.get(o.device_id);
      if (list) list.push(o);
      else ordersOf.set(o.device_id, [o]);
    }
    for (const row of rows) {
      const previous = this.#devices.get(row.id);
      const info: DeviceInfo = {
        id: row.id,
        no: row.no,
        kind: row.kind,
        status: row.status,
        jurisdictionCode: row.jurisdiction_code,
        orders: (ordersOf.get(row.id) ?? [])
          .map((o) => ({
            orderId: o.id,
            subjectId: o.subject_id,
            subjectNo: o.subject_no,
            jurisdictionCode: o.jurisdiction_code,
            startsAtMs: o.starts_at.getTime(),
            endsAtMs: Math.min(o.ends_at.getTime(), o.ended_at?.getTime() ?? Infinity),
          }))
          .sort((a, b) => a.startsAtMs - b.startsAtMs),
        // Keep our own bookkeeping across a reload: it is ahead of what is committed.
        runtime: previous?.runtime ?? {
          lastSeq: row.last_seq,
          ackedSeq: row.acked_seq,
          above: [],
          stuckSinceMs: null,
          seqGaps: row.seq_gaps ?? 0,
          latestFixMs: row.last_fix_t?.getTime() ?? null,
        },
      };
      this.#devices.set(row.id, info);
      this.#byNo.set(info.no, info);
      this.#stale.delete(row.id);
      out.set(row.id, info);
    }
    for (const id of load) {
      if (!out.has(id)) {
        this.#devices.delete(id);
        this.#missing.set(id, nowMs + this.negativeTtlMs);
        out.set(id, undefined);
      }
    }
    return out;
  }
}
