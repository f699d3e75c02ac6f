import { sql, type Kysely } from 'kysely';
import type { DB, Role } from '@ccm/db';
import type { AuthUser } from '../auth/types';
import { isPathWithin, pathInScope, pathWithin } from '../auth/scope';
import { iso } from '../http';
import { sourceName } from '../positions/track';

/**
 * The live stream's fan-out. Two sources, both read from the database so they work whether
 * the gateway runs in this process or elsewhere:
 * - positions: `device_state` rows changed since the last tick (once a second), only fixes
 *   inside an active monitoring order — at most one update per subject per tick;
 * - alerts: `outbox` rows after the last one seen (woken by NOTIFY ccm_outbox, and polled),
 *   and rows whose ids were skipped because their transaction committed late;
 * - notices: `outbox` rows of topic `notification`, to the named users' connections only.
 * Each position or alert goes only to clients whose jurisdiction covers it and whose role may
 * see it.
 * A client that cannot keep up (more than `maxBufferedBytes` unsent) is dropped, never
 * buffered without bound.
 */
export interface StreamClient {
  user: AuthUser;
  send(text: string): void;
  bufferedBytes(): number;
  close(code: number, reason: string): void;
}

export const POSITION_ROLES: readonly Role[] = ['officer', 'bureau', 'auditor'];
export const ALERT_ROLES: readonly Role[] = ['admin', 'officer', 'bureau', 'auditor'];

export interface PositionMessage {
  type: 'position';
  subjectId: string;
  deviceId: string;
  t: string;
  lat: number;
  lon: number;
  accuracyM: number;
  source: 'gnss' | 'lbs' | 'wifi';
  battery: number | null;
  online: boolean;
}

export interface StreamHubOptions {
  tickMs?: number;
  maxBufferedBytes?: number;
  /** Builds the API Alert views of these alert ids (alerts feature); missing ids are left out. */
  loadAlerts: (db: Kysely<DB>, ids: readonly string[]) => Promise<ReadonlyMap<string, unknown>>;
  onError?: (err: unknown) => void;
}

/** New notices for this user: fetch them (GET /api/v1/notifications). */
const NOTIFICATION_MESSAGE = JSON.stringify({ type: 'notification' });
/** How long a skipped outbox id is looked for, and the widest skip that is tracked id by id. */
const OUTBOX_GAP_WAIT_MS = 60_000;
const MAX_OUTBOX_GAP = 1000;

export class StreamHub {
  readonly #clients = new Set<StreamClient>();
  /** Watermark of `device_state.updated_at` in µs: a JS Date (ms) would re-send rows forever. */
  #positionsSinceUs = Date.now() * 1000;
  #outboxAfter = 0;
  /**
   * Outbox ids above the watermark that were missing when a later one was read: a transaction
   * that took its id first can commit after one that took a later id (the gateway's batch and
   * an officer's acknowledgement, say). Each is looked for again until it turns up or for
   * `OUTBOX_GAP_WAIT_MS` (a rolled-back insert leaves a gap that never fills).
   */
  readonly #outboxGaps = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  /**
   * Alerts and positions go round separately (each on its own pooled connection), so an
   * alert never waits behind a tick's position query and fan-out, which at thousands of
   * fixes per second takes longer than the alert itself.
   */
  readonly #alertRound = coalesced(() => this.#outbox());
  readonly #positionRound = coalesced(() => this.#positions());
  /** Delivered outbox ids not yet marked, and the marking in progress (#markDelivered). */
  readonly #toMark: number[] = [];
  #marking: Promise<void> | undefined;
  readonly #tickMs: number;
  readonly #maxBuffered: number;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly options: StreamHubOptions,
  ) {
    this.#tickMs = options.tickMs ?? 1000;
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  }

  get size() {
    return this.#clients.size;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const last = await this.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    this.#outboxAfter = Number(last?.id ?? 0);
    this.#positionsSinceUs = Date.now() * 1000;
    this.#timer = setInterval(() => void this.tick(), this.#tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const c of this.#clients) c.close(1001, 'server shutting down');
    this.#clients.clear();
    await this.settled();
  }

  add(client: StreamClient): () => void {
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  /** One round: new positions and new outbox rows to the clients that may see them. */
  async tick(): Promise<void> {
    await Promise.all([this.tickPositions(), this.tickAlerts()]);
  }

  /** New outbox rows (alerts) only: what a NOTIFY ccm_outbox asks for. */
  tickAlerts(): Promise<void> {
    return this.#alertRound().catch((err: unknown) => this.options.onError?.(err));
  }

  tickPositions(): Promise<void> {
    return this.#positionRound().catch((err: unknown) => this.options.onError?.(err));
  }

  #deliver(text: string, path: string, roles: readonly Role[]) {
    for (const client of this.#clients) {
      if (roles.includes(client.user.role) && pathInScope(client.user, path)) {
        this.#send(client, text);
      }
    }
  }

  /** A client that cannot keep up is dropped (it reconnects and refetches) rather than fed. */
  #send(client: StreamClient, text: string) {
    if (client.bufferedBytes() > this.#maxBuffered) {
      this.#clients.delete(client);
      client.close(1013, 'client too slow; reconnect / 客户端接收过慢，请重连');
      return;
    }
    client.send(text);
  }

  /** To these users' connections only (a notice is addressed to people, not to a scope). */
  #deliverToUsers(text: string, userIds: readonly unknown[]) {
    const to = new Set(userIds);
    for (const client of this.#clients) if (to.has(client.user.id)) this.#send(client, text);
  }

  async #positions() {
    const sinceUs = this.#positionsSinceUs;
    const now = new Date();
    // Only the jurisdictions someone here may watch: a county's thousands of changed rows a
    // second are not read, parsed and dropped for one township officer. With no one watching,
    // the watermark just moves on.
    const scopes = coveringPaths(
      [...this.#clients]
        .filter((c) => POSITION_ROLES.includes(c.user.role))
        .map((c) => c.user.jurisdictionPath),
    );
    if (scopes.length === 0) {
      this.#positionsSinceUs = now.getTime() * 1000;
      return;
    }
    const rows = await this.db
      .selectFrom('device_state as ds')
      .innerJoin('devices as d', 'd.no', 'ds.device_no')
      .innerJoin('monitoring_orders as o', 'o.device_id', 'd.id')
      .innerJoin('subjects as s', 's.id', 'o.subject_id')
      .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
      .select([
        's.id as subject_id',
        'd.id as device_id',
        'j.path',
        'ds.last_fix_t',
        'ds.last_lat_e6',
        'ds.last_lon_e6',
        'ds.last_acc_dm',
        'ds.last_src',
        'ds.battery',
        'ds.online',
        sql<number>`(extract(epoch from ds.updated_at) * 1000000)::int8`.as('updated_us'),
      ])
      .where(
        sql<boolean>`ds.updated_at > timestamptz 'epoch' + ${sinceUs} * interval '1 microsecond'`,
      )
      .where('ds.last_fix_t', 'is not', null)
      .where((eb) => eb.or(scopes.map((p) => pathWithin(p, 'j.path'))))
      // The fix must lie inside the order, and the order be active now.
      .where('o.starts_at', '<=', sql<Date>`ds.last_fix_t`)
      .where(
        sql<boolean>`ds.last_fix_t < least(o.ends_at, coalesce(o.ended_at, 'infinity'::timestamptz))`,
      )
      .where(sql<boolean>`least(o.ends_at, coalesce(o.ended_at, 'infinity'::timestamptz)) > ${now}`)
      .execute();
    let newest = sinceUs;
    for (const r of rows) {
      if (r.updated_us > newest) newest = r.updated_us;
      const message: PositionMessage = {
        type: 'position',
        subjectId: r.subject_id,
        deviceId: r.device_id,
        t: iso(r.last_fix_t!),
        lat: r.last_lat_e6! / 1e6,
        lon: r.last_lon_e6! / 1e6,
        accuracyM: r.last_acc_dm! / 10,
        source: sourceName(r.last_src ?? 0),
        battery: r.battery,
        online: r.online,
      };
      this.#deliver(JSON.stringify(message), r.path, POSITION_ROLES);
    }
    this.#positionsSinceUs = newest;
  }

  async #outbox() {
    const now = Date.now();
    for (const [id, since] of this.#outboxGaps) {
      if (now - since > OUTBOX_GAP_WAIT_MS) this.#outboxGaps.delete(id);
    }
    const after = this.#outboxAfter;
    const gaps = [...this.#outboxGaps.keys()];
    // The jurisdiction's path comes with each row (one round trip fewer per alert round).
    const rows = await this.db
      .selectFrom('outbox as o')
      .leftJoin('jurisdictions as j', (join) =>
        join.on('j.code', '=', sql<string>`o.payload->>'jurisdictionCode'`),
      )
      .select(['o.id', 'o.topic', 'o.payload', 'j.path'])
      .where((eb) =>
        gaps.length > 0
          ? eb.or([eb('o.id', '>', after), eb('o.id', 'in', gaps)])
          : eb('o.id', '>', after),
      )
      .orderBy('o.id')
      .limit(1000)
      .execute();
    if (rows.length === 0) return;
    for (const row of rows) {
      if (row.id <= after) {
        this.#outboxGaps.delete(row.id); // a late commit, found
      } else {
        // Ids skipped between the last row and this one belong to transactions that have not
        // committed yet (or rolled back): look for them again on the next rounds.
        if (row.id - this.#outboxAfter <= MAX_OUTBOX_GAP) {
          for (let id = this.#outboxAfter + 1; id < row.id; id++) this.#outboxGaps.set(id, now);
        }
        this.#outboxAfter = row.id;
      }
    }
    // The round's alerts in one query (one per alert was a round trip per alert while the next
    // changes queued behind them), then delivery in order.
    const changes = new Map<number, { alertId: string; path: string }>();
    for (const row of rows) {
      if (row.topic !== 'alert' && row.topic !== 'alert_update') continue;
      const payload = row.payload as { alertId?: string };
      // No path: no such jurisdiction, so no one's scope covers it.
      if (!payload.alertId || !row.path) continue;
      changes.set(row.id, { alertId: payload.alertId, path: row.path });
    }
    const alerts =
      changes.size > 0 && this.#clients.size > 0
        ? await this.options.loadAlerts(
            this.db,
            [...changes.values()].map((c) => c.alertId),
          )
        : new Map<string, unknown>();
    for (const row of rows) {
      if (row.topic === 'notification') {
        const { userIds } = row.payload as { userIds?: unknown };
        if (Array.isArray(userIds)) this.#deliverToUsers(NOTIFICATION_MESSAGE, userIds);
        continue;
      }
      const change = changes.get(row.id);
      const alert = change && alerts.get(change.alertId);
      if (!change || !alert) continue;
      this.#deliver(
        JSON.stringify({ type: row.topic === 'alert' ? 'alert' : 'alert_update', alert }),
        change.path,
        ALERT_ROLES,
      );
    }
    this.#markDelivered(rows.map((r) => r.id));
  }

  /**
   * Records delivery (`outbox.delivered_at`, bookkeeping: the stream goes by its watermark)
   * behind the rounds instead of inside them: the next alert round does not wait for this
   * write, and its commit does not wait for a WAL flush (a mark lost in a crash only leaves
   * a delivered row unmarked).
   */
  #markDelivered(ids: readonly number[]) {
    this.#toMark.push(...ids);
    if (this.#marking) return;
    this.#marking = (async () => {
      while (this.#toMark.length > 0) {
        const batch = this.#toMark.splice(0);
        await this.db.transaction().execute(async (trx) => {
          await sql`SET LOCAL synchronous_commit = off`.execute(trx);
          await trx
            .updateTable('outbox')
            .set({ delivered_at: new Date() })
            .where('id', 'in', batch)
            .where('delivered_at', 'is', null)
            .execute();
        });
      }
    })()
      .catch((err: unknown) => {
        this.#toMark.length = 0;
        this.options.onError?.(err);
      })
      .finally(() => {
        this.#marking = undefined;
        // Ids handed over after the loop's last look: their own pass.
        if (this.#toMark.length > 0) this.#markDelivered([]);
      });
  }

  /** Waits for delivery marks in progress (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#marking) await this.#marking;
  }
}

/** The fewest paths whose subtrees hold all of `paths` (one inside another is dropped). */
function coveringPaths(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const p of sorted) {
    if (!kept.some((k) => isPathWithin(k, p))) kept.push(p);
  }
  return kept;
}

/**
 * Runs `fn` one call at a time. A call while it runs does not wait for the next timer tick
 * (up to 1 s) nor start a second run: the running one goes round once more, and every caller
 * resolves when the round that saw its call has finished.
 */
function coalesced(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
}
