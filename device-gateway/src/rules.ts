import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { WeeklySchedule, ZoneGeometry, ZoneRules } from '@ccm/contracts';
import { prepared, type DB } from '@ccm/db';
import {
  checkSilence,
  compileZones,
  decisionOf,
  processBatch,
  progressOf,
  sameDecision,
  zonesForSubject,
  type AlertEvent,
  type DecisionState,
  type DeviceCommand,
  type DeviceEventInput,
  type FixInput,
  type HeartbeatInput,
  type SubjectState,
  type SubjectZones,
  type Suspension,
  type ZoneAssignment,
  type ZoneIndex,
  type ZoneInput,
} from '@ccm/geofence';
import {
  afterWrite,
  engineFix,
  loadEngineStates,
  writeEngineStates,
  type StoredState,
} from './engine-state';
import type { RulesStage } from './pipeline';
import type { BatchPlan } from './plan';
import { orderAt, type DeviceInfo } from './registry';
import { numbers } from './sql-arrays';

/** Subjects evaluated between two turns of the event loop. */
const YIELD_EVERY = 200;

/** What the rules stage decided for one subject in one batch, written with the batch. */
export interface EngineOutcome {
  subjectNo: number;
  subjectId: string;
  jurisdictionCode: string;
  state: SubjectState;
  alerts: AlertEvent[];
  commands: { deviceId: string; command: DeviceCommand }[];
  /** What a batch's state was computed from: its row's version and decision state. */
  basis?: { version: number; decision: DecisionState | null };
  /**
   * Write only if the stored state still has this version (compare-and-set): set by the
   * silence check, which may run in a gateway that does not own the subject's messages.
   */
  expectedVersion?: number;
  /** After the write: the stored version, or null when the compare-and-set refused it. */
  writtenVersion?: number | null;
}

export interface RulesOptions {
  /** Grace on top of a subject's reporting interval before `no_signal`, s. */
  silenceGraceS: number;
  /** Messages but no usable fix for this long: `no_location`, s. */
  noLocationS: number;
  /** Commands the engine raises stay valid this long, ms. */
  commandTtlMs: number;
  /** Zone assignments and leaves that ended this long ago still judge late uploads, ms. */
  assignmentLookbackMs: number;
}

export const DEFAULT_RULES_OPTIONS: RulesOptions = {
  silenceGraceS: 180,
  noLocationS: 1800,
  commandTtlMs: 5 * 60_000,
  assignmentLookbackMs: 7 * 24 * 3_600_000,
};

/**
 * Stage 5 of the pipeline: the pure engine (@ccm/geofence) fed with the batch, per subject,
 * with the subject's zones and its previous state. State is cached here, loaded from
 * `engine_state` (and the window from `fixes`) on first sight, and saved with every batch:
 * its progress always, its decision state when that changed (engine-state.ts).
 */
export class EngineRules implements RulesStage {
  #index: ZoneIndex = compileZones([]);
  #assignments = new Map<string, ZoneAssignment[]>();
  /** Cached state per subject with the version it had in the database. */
  #states = new Map<number, StoredState>();
  /** Compiled zone sets per assignment list (a reload makes new lists) and for none. */
  #zonesByList = new WeakMap<ZoneAssignment[], SubjectZones>();
  #noZones: { index: ZoneIndex; zones: SubjectZones } | undefined;
  #loaded: Promise<void> | undefined;
  readonly options: RulesOptions;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly log: Logger,
    options: Partial<RulesOptions> = {},
  ) {
    this.options = { ...DEFAULT_RULES_OPTIONS, ...options };
  }

  /** (Re)loads zones and assignments; the engine's index is rebuilt once per change. */
  reloadZones(): Promise<void> {
    const run = (async () => {
      const zones = await this.db
        .selectFrom('zones')
        .select([
          'id',
          'name',
          'kind',
          'purpose',
          'geometry',
          'schedule',
          'buffer_m',
          'confirm_fixes',
          'confirm_seconds',
        ])
        .where('active', '=', true)
        .execute();
      const inputs: ZoneInput[] = zones.map((z) => {
        const rules: Partial<ZoneRules> = { bufferM: z.buffer_m };
        if (z.confirm_fixes !== null) rules.confirmFixes = z.confirm_fixes;
        if (z.confirm_seconds !== null) rules.confirmSeconds = z.confirm_seconds;
        return {
          id: z.id,
          name: z.name,
          kind: z.kind,
          purpose: z.purpose,
          geometry: z.geometry as ZoneGeometry,
          schedule: (z.schedule as WeeklySchedule | null) ?? null,
          rules,
        };
      });
      const index = compileZones(inputs);
      for (const r of index.rejected) {
        this.log.error(
          { zoneId: r.zoneId, problems: r.problems },
          '围栏几何无效，已忽略 / invalid zone ignored',
        );
      }
      // Assignments that ended within the look-back still judge late uploads from their time;
      // validity and leave suspensions are evaluated at each fix's own time by the engine.
      const since = new Date(Date.now() - this.options.assignmentLookbackMs);
      const rows = await this.db
        .selectFrom('zone_assignments')
        .select(['subject_id', 'zone_id', 'schedule_override', 'valid_from', 'valid_to'])
        .where((eb) => eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', since)]))
        .execute();
      const suspensions = await this.#leaveSuspensions(since);
      const assignments = new Map<string, ZoneAssignment[]>();
      for (const r of rows) {
        const list = assignments.get(r.subject_id) ?? [];
        const assignment: ZoneAssignment = { zoneId: r.zone_id };
        if (r.schedule_override !== null) {
          assignment.schedule = r.schedule_override as WeeklySchedule;
        }
        if (r.valid_from) assignment.activeFromMs = r.valid_from.getTime();
        if (r.valid_to) assignment.activeToMs = r.valid_to.getTime();
        const zone = index.byId.get(r.zone_id);
        const away = suspensions.get(r.subject_id);
        if (away && zone?.kind === 'inclusion' && zone.purpose === 'county') {
          assignment.suspensions = away;
        }
        list.push(assignment);
        assignments.set(r.subject_id, list);
      }
      // Personal zones (a victim's home) apply to their subject without an assignment row.
      const personal = await this.db
        .selectFrom('zones')
        .select(['id', 'subject_id'])
        .where('active', '=', true)
        .where('subject_id', 'is not', null)
        .execute();
      for (const p of personal) {
        const list = assignments.get(p.subject_id!) ?? [];
        if (!list.some((a) => a.zoneId === p.id)) list.push({ zoneId: p.id });
        assignments.set(p.subject_id!, list);
      }
      this.#index = index;
      this.#assignments = assignments;
      this.log.info(
        { zones: inputs.length, subjectsWithZones: assignments.size },
        '围栏已加载 / zones loaded',
      );
    })();
    this.#loaded = run;
    return run;
  }

  /** Approved leaves (外出审批) per subject: their county zones' violations are authorised meanwhile. */
  async #leaveSuspensions(since: Date): Promise<Map<string, Suspension[]>> {
    const leaves = await this.db
      .selectFrom('leave_requests')
      .select(['id', 'subject_id', 'starts_at', 'ends_at'])
      .where('status', '=', 'approved')
      .where('ends_at', '>', since)
      .execute();
    const out = new Map<string, Suspension[]>();
    for (const l of leaves) {
      const list = out.get(l.subject_id) ?? [];
      list.push({ fromMs: l.starts_at.getTime(), toMs: l.ends_at.getTime(), ref: l.id });
      out.set(l.subject_id, list);
    }
    return out;
  }

  async #ensureLoaded() {
    await (this.#loaded ?? this.reloadZones());
  }

  /**
   * States of these subjects: from the cache unless another writer has stored a newer version
   * (one indexed query over the batch's subjects), or `fresh` asks for the database's.
   */
  async #statesFor(
    subjects: { no: number; id: string }[],
    fresh = false,
  ): Promise<Map<number, StoredState>> {
    const cached = fresh ? [] : subjects.filter((s) => this.#states.has(s.no));
    const load = new Set(subjects.filter((s) => fresh || !this.#states.has(s.no)).map((s) => s.no));
    if (cached.length > 0) {
      // One text for any number of subjects (an array, not an IN list): prepared once.
      const { rows: versions } = await prepared(sql<{ subject_no: number; version: number }>`
        SELECT subject_no, version FROM engine_state
        WHERE subject_no = ANY(${numbers(cached, (s) => s.no)}::int4[])`).execute(this.db);
      for (const v of versions) {
        if (v.version !== this.#states.get(v.subject_no)?.version) load.add(v.subject_no);
      }
    }
    if (load.size > 0) {
      const loaded = await loadEngineStates(
        this.db,
        subjects.filter((s) => load.has(s.no)),
        this.log,
      );
      for (const [no, stored] of loaded) this.#states.set(no, stored);
    }
    return new Map(subjects.map((s) => [s.no, this.#states.get(s.no)!]));
  }

  async evaluate(
    plan: BatchPlan,
    devices: ReadonlyMap<string, DeviceInfo>,
    nowMs: number,
  ): Promise<void> {
    await this.#ensureLoaded();
    const byNo = new Map<number, DeviceInfo>();
    for (const d of devices.values()) byNo.set(d.no, d);

    // Group the batch by (subject, device): the engine sees one device's messages at a time.
    type Work = {
      subjectNo: number;
      subjectId: string;
      jurisdictionCode: string;
      deviceId: string;
      fixes: FixInput[];
      events: DeviceEventInput[];
      heartbeats: HeartbeatInput[];
    };
    // By subject, then device (no key string built per message); `work` keeps first-seen order.
    const bySubject = new Map<number, Map<DeviceInfo, Work>>();
    const work: Work[] = [];
    const slot = (device: DeviceInfo, tMs: number) => {
      const order = orderAt(device, tMs);
      if (!order) return undefined;
      let devices = bySubject.get(order.subjectNo);
      if (!devices) bySubject.set(order.subjectNo, (devices = new Map()));
      let w = devices.get(device);
      if (!w) {
        w = {
          subjectNo: order.subjectNo,
          subjectId: order.subjectId,
          jurisdictionCode: order.jurisdictionCode,
          deviceId: device.id,
          fixes: [],
          events: [],
          heartbeats: [],
        };
        devices.set(device, w);
        work.push(w);
      }
      return w;
    };
    for (const f of plan.fixes) {
      const device = byNo.get(f.deviceNo);
      const w = device && slot(device, f.tMs);
      if (!w) continue;
      w.fixes.push(engineFix(f));
    }
    for (const e of plan.events) {
      const device = byNo.get(e.deviceNo);
      const w = device && slot(device, e.tMs);
      if (!w) continue;
      w.events.push({
        eventTimeMs: e.tMs,
        type: e.type,
        ...(e.bat === null ? {} : { batteryPct: e.bat }),
        ...(e.latE6 === null || e.lonE6 === null ? {} : { lat: e.latE6 / 1e6, lon: e.lonE6 / 1e6 }),
        receivedAtMs: e.receivedAtMs,
      });
    }
    for (const h of plan.heartbeats) {
      const device = byNo.get(h.deviceNo);
      const w = device && slot(device, h.tMs);
      if (!w) continue;
      w.heartbeats.push({
        heartbeatTimeMs: h.tMs,
        ...(h.bat === null ? {} : { batteryPct: h.bat }),
        ...(h.chg === null ? {} : { charging: h.chg }),
        receivedAtMs: h.receivedAtMs,
      });
    }
    if (work.length === 0) return;

    const states = await this.#statesFor(work.map((w) => ({ no: w.subjectNo, id: w.subjectId })));
    const outcomes = new Map<number, EngineOutcome>();
    // One zone set for the whole batch, even if a reload lands while it yields below.
    const index = this.#index;
    const assignments = this.#assignments;
    // zonesForSubject builds a handful of closures per call: once per assignment list (and
    // once for all subjects without one) instead of once per subject and batch.
    const zonesOf = (subjectId: string): SubjectZones => {
      const list = assignments.get(subjectId);
      if (!list) {
        if (this.#noZones?.index !== index) {
          this.#noZones = { index, zones: zonesForSubject(index, []) };
        }
        return this.#noZones.zones;
      }
      let zones = this.#zonesByList.get(list);
      if (!zones) this.#zonesByList.set(list, (zones = zonesForSubject(index, list)));
      return zones;
    };
    let done = 0;
    for (const w of work) {
      // Let the batch committing meanwhile (gateway.ts overlaps them) have its database
      // replies handled: a batch's engine pass is tens of milliseconds of CPU.
      if (++done % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      const before = states.get(w.subjectNo)!;
      const outcome =
        outcomes.get(w.subjectNo) ??
        ({
          subjectNo: w.subjectNo,
          subjectId: w.subjectId,
          jurisdictionCode: w.jurisdictionCode,
          state: before.state,
          alerts: [],
          commands: [],
          basis: { version: before.version, decision: before.decision },
        } satisfies EngineOutcome);
      const zones = zonesOf(w.subjectId);
      const result = processBatch(
        outcome.state,
        { deviceId: w.deviceId, fixes: w.fixes, events: w.events, heartbeats: w.heartbeats, nowMs },
        zones,
      );
      outcome.state = result.state;
      outcome.alerts.push(...result.alerts);
      outcome.commands.push(
        ...result.commands.map((command) => ({ deviceId: w.deviceId, command })),
      );
      outcomes.set(w.subjectNo, outcome);
    }
    plan.engine.push(...outcomes.values());
  }

  /**
   * The silence rules (`no_signal`, `no_location`), run by the gateway's loop between batches.
   * Candidates come from the database (subjects in an active order whose device has been
   * silent, or without a fix, long enough), not from this gateway's cache, so a gateway that
   * does not receive a device's messages does not think it silent; their state is read fresh
   * and written only if nobody changed it meanwhile (compare-and-set on its version).
   */
  async silence(nowMs: number): Promise<EngineOutcome[]> {
    await this.#ensureLoaded();
    const now = new Date(nowMs);
    const grace = this.options.silenceGraceS;
    const noLocation = this.options.noLocationS;
    const subjects = await this.db
      .selectFrom('monitoring_orders as o')
      .innerJoin('subjects as s', 's.id', 'o.subject_id')
      .innerJoin('devices as d', 'd.id', 'o.device_id')
      .leftJoin('device_state as ds', 'ds.device_no', 'd.no')
      .select(['s.no', 's.id', 's.jurisdiction_code', 's.report_interval_s', 'o.device_id'])
      .where('o.starts_at', '<=', now)
      .where('o.ends_at', '>', now)
      .where((eb) => eb.or([eb('o.ended_at', 'is', null), eb('o.ended_at', '>', now)]))
      .where(
        sql<boolean>`(
          ds.last_seen_at IS NULL
          OR ds.last_seen_at < ${now}::timestamptz - (s.report_interval_s + ${grace}) * interval '1 second'
          OR ds.last_fix_t IS NULL
          OR ds.last_fix_t < ${now}::timestamptz - ${noLocation} * interval '1 second')`,
      )
      .execute();
    if (subjects.length === 0) return [];
    const states = await this.#statesFor(
      subjects.map((s) => ({ no: s.no, id: s.id })),
      true,
    );
    const outcomes: EngineOutcome[] = [];
    for (const s of subjects) {
      const before = states.get(s.no)!;
      const result = checkSilence(before.state, nowMs, {
        intervalS: s.report_interval_s,
        graceS: grace,
        noLocationS: noLocation,
        deviceId: s.device_id,
      });
      // Nothing to store unless something but the engine's clock changed: checkSilence always
      // returns a new state (its clock moves to nowMs), and writing that for every candidate,
      // one statement each, stalled ingestion for seconds while 50,000 devices had not yet
      // reported (every one is a candidate). The next batch's own clock supersedes it.
      if (
        result.alerts.length === 0 &&
        result.commands.length === 0 &&
        onlyClockMoved(before.state, result.state)
      ) {
        continue;
      }
      outcomes.push({
        subjectNo: s.no,
        subjectId: s.id,
        jurisdictionCode: s.jurisdiction_code,
        state: result.state,
        alerts: result.alerts,
        commands: result.commands.map((command) => ({ deviceId: s.device_id, command })),
        expectedVersion: before.version,
      });
    }
    return outcomes;
  }

  /** After a commit: the saved states become the cache. */
  committed(outcomes: readonly EngineOutcome[]): void {
    for (const o of outcomes) {
      // Refused by compare-and-set (or not written): forget it, the next use reloads it.
      if (o.writtenVersion == null) this.#states.delete(o.subjectNo);
      else this.#states.set(o.subjectNo, afterWrite(o.state, o.writtenVersion));
    }
  }
}

/** Whether `after` differs from `before` in nothing but the engine's clock. */
function onlyClockMoved(before: SubjectState, after: SubjectState): boolean {
  if (after === before) return true;
  if (!sameDecision(decisionOf(before), decisionOf(after))) return false;
  const a = progressOf(before);
  const b = progressOf(after);
  return (
    a.lastMessageAtMs === b.lastMessageAtMs &&
    a.lastFixTimeMs === b.lastFixTimeMs &&
    sameEndSignals(a.endSignals, b.endSignals) &&
    after.head.anchor === before.head.anchor &&
    after.head.lastGnss === before.head.lastGnss &&
    after.head.suspects.length === before.head.suspects.length &&
    after.window === before.window
  );
}

function sameEndSignals(a: SubjectState['device']['endSignals'], b: typeof a): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof typeof a>;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

/** One open violation per subject, type and zone; what a leave authorised never blocks one. */
const dedupeKey = (a: AlertEvent) =>
  `${a.subjectId}:${a.type}:${a.zoneId ?? '-'}${a.authorisedBy === null ? '' : ':authorised'}`;

export interface AlertChange {
  alertId: string;
  action: AlertEvent['action'];
  event: AlertEvent;
  jurisdictionCode: string;
}

/**
 * Writes the engine's outcomes inside the batch's transaction: state, alert changes (by the
 * engine's stable key), their history, the outbox, and the commands it asked for. Runs under
 * a savepoint: if it fails (a bug), the fixes still commit and the error is reported.
 */
export async function persistEngine(
  trx: Transaction<DB>,
  outcomes: readonly EngineOutcome[],
  options: RulesOptions,
): Promise<AlertChange[]> {
  const changes: AlertChange[] = [];
  if (outcomes.length === 0) return changes;
  await sql`SAVEPOINT engine`.execute(trx);
  try {
    // States: progress for all, decision states where they changed; silence ones by
    // compare-and-set (engine-state.ts).
    await writeEngineStates(trx, outcomes);
    const alerts: { event: AlertEvent; jurisdictionCode: string }[] = [];
    const commands: EngineOutcome['commands'][number][] = [];
    for (const o of outcomes) {
      if (o.writtenVersion == null) continue; // someone else changed this subject: skip
      for (const a of o.alerts) alerts.push({ event: a, jurisdictionCode: o.jurisdictionCode });
      commands.push(...o.commands);
    }
    // Alert changes with their history, outbox rows and NOTIFY, and the commands, in one or
    // two statements per round (applyAlerts).
    changes.push(...(await applyAlerts(trx, alerts, commandRows(commands, options))));
    // No RELEASE: the batch's COMMIT, next, releases the savepoint (one round trip less).
    return changes;
  } catch (err) {
    await sql`ROLLBACK TO SAVEPOINT engine`.execute(trx);
    throw new EngineWriteError(err);
  }
}

export class EngineWriteError extends Error {
  constructor(readonly causeError: unknown) {
    super(`engine outcome not stored: ${(causeError as Error)?.message}`);
  }
}

/** The commands the engine asked for, as `device_commands` rows (a JSON recordset). */
function commandRows(
  commands: readonly EngineOutcome['commands'][number][],
  options: RulesOptions,
): string | null {
  if (commands.length === 0) return null;
  const expiresAt = new Date(Date.now() + options.commandTtlMs).toISOString();
  return JSON.stringify(
    commands.map((c) => ({
      device_id: c.deviceId,
      type: c.command.type,
      params: c.command.params,
      expires_at: expiresAt,
    })),
  );
}

/**
 * The batch's alert changes, set-based, in as few round trips as the rules allow: every
 * round trip inside the batch's transaction waits for the gateway's event loop, which at
 * thousands of fixes per second is busy building the next batch. Changes are applied in
 * rounds, each a run of the time-ordered list in which no alert appears twice (an alert
 * opened and ended in one batch takes two rounds), so each alert's changes keep their order.
 * A round is at most two statements:
 * 1. ends, updates and withdrawals (skipped when the round has none): a new episode of a
 *    zone's violation can only open once the one before it has ended
 *    (`alerts_one_open_violation`), so these go first, in a statement of their own;
 * 2. the openings, with every change's history row (`alert_events`), its outbox row and the
 *    NOTIFY that wakes the live stream; the batch's device commands ride on the first round.
 */
async function applyAlerts(
  trx: Transaction<DB>,
  items: readonly { event: AlertEvent; jurisdictionCode: string }[],
  commands: string | null,
): Promise<AlertChange[]> {
  const changes: AlertChange[] = [];
  let round: { event: AlertEvent; jurisdictionCode: string }[] = [];
  const keys = new Set<string>();
  for (const item of items) {
    if (keys.has(item.event.key)) {
      changes.push(...(await applyRound(trx, round, commands)));
      commands = null;
      round = [];
      keys.clear();
    }
    keys.add(item.event.key);
    round.push(item);
  }
  if (round.length > 0 || commands !== null) {
    changes.push(...(await applyRound(trx, round, commands)));
  }
  return changes;
}

/** The columns an alert takes from the engine's episode, on opening and on every change. */
const episodeColumns = (a: AlertEvent) => ({
  started_at: new Date(a.startedAtMs).toISOString(),
  ended_at: a.endedAtMs === null ? null : new Date(a.endedAtMs).toISOString(),
  late: a.late,
  late_by_ms: a.lateByMs,
  lat: a.lat,
  lon: a.lon,
});

const EVENT_ACTION = {
  open: 'raised',
  update: 'updated',
  end: 'ended',
  retract: 'withdrawn',
} as const satisfies Record<AlertEvent['action'], string>;

const WITHDRAWN_NOTE =
  '迟到的定位表明该违规不成立，系统已撤回 / late fixes show the rules were never met; withdrawn by the platform';

async function applyRound(
  trx: Transaction<DB>,
  round: readonly { event: AlertEvent; jurisdictionCode: string }[],
  commands: string | null,
): Promise<AlertChange[]> {
  const ids = new Map<string, string>(); // engine key → alert id, for what this round changed
  const now = new Date().toISOString();
  const moved = round.filter((i) => i.event.action === 'update' || i.event.action === 'end');
  const withdrawn = round.filter((i) => i.event.action === 'retract');
  if (moved.length > 0 || withdrawn.length > 0) {
    // Dates go into the JSON as ISO strings; evidence as the object itself (a jsonb field).
    // The two updates touch different alerts (a round holds each alert once). Each finds its
    // alerts by `engine_key = ANY(keys)`, a restriction the planner serves from the
    // `alerts_engine_key` index; joined to the recordset alone, it scanned the whole table.
    // Not prepared: a cached generic plan made while `alerts` was small would keep scanning
    // it as it grows, and the text varies with which updates the round has.
    const parts: RawBuilder<unknown>[] = [];
    const selects: RawBuilder<unknown>[] = [];
    if (moved.length > 0) {
      const movedRows = moved.map(({ event: a }) => ({
        key: a.key,
        ...episodeColumns(a),
        evidence: a.evidence,
      }));
      parts.push(sql`moved AS (
        UPDATE alerts AS a
           SET started_at = v.started_at, ended_at = v.ended_at, late = v.late,
               late_by_ms = v.late_by_ms, lat = v.lat, lon = v.lon, evidence = v.evidence,
               updated_at = ${now}::timestamptz
          FROM jsonb_to_recordset(${JSON.stringify(movedRows)}::jsonb)
               AS v(key text, started_at timestamptz, ended_at timestamptz, late boolean,
                    late_by_ms bigint, lat float8, lon float8, evidence jsonb)
         WHERE a.engine_key = ANY(${moved.map((i) => i.event.key)}::text[])
           AND a.engine_key = v.key
        RETURNING a.id, a.engine_key)`);
      selects.push(sql`SELECT id, engine_key FROM moved`);
    }
    if (withdrawn.length > 0) {
      // The fixes in time order show the rules were never met: close it as withdrawn, with a
      // system note, rather than delete what officers may already have seen.
      parts.push(sql`withdrawn AS (
        UPDATE alerts
           SET ended_at = coalesce(ended_at, started_at), status = 'resolved',
               resolution = 'withdrawn', resolved_at = ${now}::timestamptz,
               updated_at = ${now}::timestamptz
         WHERE engine_key = ANY(${withdrawn.map((i) => i.event.key)}::text[])
        RETURNING id, engine_key)`);
      selects.push(sql`SELECT id, engine_key FROM withdrawn`);
    }
    const { rows } = await sql<{ id: string; engine_key: string }>`
      WITH ${sql.join(parts, sql`, `)} ${sql.join(selects, sql` UNION ALL `)}`.execute(trx);
    for (const r of rows) ids.set(r.engine_key, r.id);
  }
  const opened = round
    .filter((i) => i.event.action === 'open')
    .map(({ event: a, jurisdictionCode }) => ({
      ...episodeColumns(a),
      evidence: a.evidence,
      type: a.type,
      severity: a.severity,
      subject_id: a.subjectId,
      device_id: a.deviceId,
      zone_id: a.zoneId,
      jurisdiction_code: jurisdictionCode,
      dedupe_key: dedupeKey(a),
      engine_key: a.key,
      // Inside an approved leave: on record, closed as authorised by the platform.
      authorised: a.authorisedBy !== null,
    }));
  // Every change of the round, in order: its history row and its outbox row. What a leave
  // authorised is on record, not news: no alarm on officers' screens (`alert_update`).
  const changeRows = round.map(({ event: a, jurisdictionCode }, ord) => {
    const action = EVENT_ACTION[a.action];
    return {
      ord,
      key: a.key,
      action,
      note: action === 'withdrawn' ? WITHDRAWN_NOTE : null,
      // An alert a leave authorised is noted with the leave's destination and reason, as
      // the officer recorded them (a suspension's ref is its leave's id).
      leave: action === 'raised' ? a.authorisedBy : null,
      data: {
        late: a.late,
        lateByMs: a.lateByMs,
        evidence: a.evidence.kind,
        ...(a.authorisedBy !== null && { resolution: 'authorised', leaveId: a.authorisedBy }),
      },
      topic: a.action === 'open' && a.authorisedBy === null ? 'alert' : 'alert_update',
      engine_action: a.action,
      jurisdiction_code: jurisdictionCode,
      subject_id: a.subjectId,
    };
  });
  const { rows } = await prepared(sql<{ id: string; engine_key: string }>`
    WITH opened AS (
      INSERT INTO alerts (started_at, ended_at, late, late_by_ms, lat, lon, evidence, type,
                          severity, subject_id, device_id, zone_id, jurisdiction_code,
                          dedupe_key, engine_key, status, resolution, resolved_at)
      SELECT o.started_at, o.ended_at, o.late, o.late_by_ms, o.lat, o.lon, o.evidence, o.type,
             o.severity, o.subject_id, o.device_id, o.zone_id, o.jurisdiction_code,
             o.dedupe_key, o.engine_key,
             CASE WHEN o.authorised THEN 'resolved' ELSE 'open' END,
             CASE WHEN o.authorised THEN 'authorised' END,
             CASE WHEN o.authorised THEN ${now}::timestamptz END
        FROM jsonb_to_recordset(${JSON.stringify(opened)}::jsonb)
             AS o(started_at timestamptz, ended_at timestamptz, late boolean, late_by_ms bigint,
                  lat float8, lon float8, evidence jsonb, type text, severity text,
                  subject_id uuid, device_id text, zone_id uuid, jurisdiction_code text,
                  dedupe_key text, engine_key text, authorised boolean)
      ON CONFLICT DO NOTHING
      RETURNING id, engine_key),
    known AS (
      SELECT id, engine_key FROM opened
      UNION ALL
      SELECT k.id::uuid, k.engine_key
        FROM jsonb_each_text(${JSON.stringify(Object.fromEntries(ids))}::jsonb) AS k(engine_key, id)),
    changed AS (
      SELECT k.id, c.*
        FROM jsonb_to_recordset(${JSON.stringify(changeRows)}::jsonb)
             AS c(ord int4, key text, action text, note text, leave text, data jsonb, topic text,
                  engine_action text, jurisdiction_code text, subject_id uuid)
        JOIN known AS k ON k.engine_key = c.key),
    history AS (
      INSERT INTO alert_events (alert_id, action, actor_id, note, data)
      SELECT c.id, c.action, NULL,
             CASE WHEN c.leave IS NULL THEN c.note ELSE (
               SELECT '外出审批期间（' || l.destination || '）：' || l.reason
                      || ' / during an approved leave to ' || l.destination || ': ' || l.reason
                 FROM leave_requests l WHERE l.id::text = c.leave) END,
             c.data
        FROM changed AS c ORDER BY c.ord),
    outbox_rows AS (
      INSERT INTO outbox (topic, payload)
      SELECT c.topic, jsonb_build_object('alertId', c.id, 'action', c.engine_action,
                                         'jurisdictionCode', c.jurisdiction_code,
                                         'subjectId', c.subject_id)
        FROM changed AS c ORDER BY c.ord
      RETURNING id),
    commands AS (
      INSERT INTO device_commands (device_id, type, params, expires_at, created_by)
      SELECT d.device_id, d.type, d.params, d.expires_at, NULL
        FROM jsonb_to_recordset(${commands ?? '[]'}::jsonb)
             AS d(device_id text, type text, params jsonb, expires_at timestamptz))
    -- The NOTIFY, once, with the round's outbox row count, when it has any.
    SELECT c.id::text AS id, c.key AS engine_key,
           (SELECT pg_notify('ccm_outbox', count(*)::text) FROM outbox_rows
             HAVING count(*) > 0) AS notify
      FROM changed AS c`).execute(trx);
  for (const r of rows) ids.set(r.engine_key, r.id);
  const changes: AlertChange[] = [];
  for (const { event: a, jurisdictionCode } of round) {
    const alertId = ids.get(a.key);
    if (alertId) changes.push({ alertId, action: a.action, event: a, jurisdictionCode });
  }
  return changes;
}
