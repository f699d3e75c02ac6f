import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, ManagementLevel } from '@ccm/db';
import { queueCommand } from '@ccm/device-gateway';
import { haversineM } from '@ccm/geofence';
import { raiseAlert, withdrawAlert } from './alerts';
import type { CheckinSettings, SeparationSettings } from './settings';
import { notify, recipientsFor } from '../notifications/notify';
import { sourceName } from '../positions/track';

/**
 * 信息化核查: what the subject owes (scheduled and random requests), what they did (each
 * check-in reviewed once), and what follows (checkin_failed, checkin_missed,
 * device_separation). Every step is idempotent and safe with several servers running.
 */
type Db = Kysely<DB> | Transaction<DB>;

const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;
/** Scheduled windows are aligned to Monday 2024-01-01 00:00 China time. */
const SCHEDULE_ANCHOR_MS = Date.UTC(2024, 0, 1) - CST_OFFSET_MS;

export const METHOD_LABEL = {
  fingerprint: '指纹 / fingerprint',
  voiceprint: '声纹 / voiceprint',
  face: '人脸 / face',
} as const;

/** The scheduled window containing `nowMs` for a level. */
export function scheduledWindow(
  settings: CheckinSettings,
  level: ManagementLevel,
  nowMs: number,
): { startMs: number; endMs: number } {
  const { periodDays, count } = settings.schedule[level];
  const lengthMs = Math.round((periodDays * DAY_MS) / count);
  const k = Math.floor((nowMs - SCHEDULE_ANCHOR_MS) / lengthMs);
  const startMs = SCHEDULE_ANCHOR_MS + k * lengthMs;
  return { startMs, endMs: startMs + lengthMs };
}

const chinaDate = (ms: number) => new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);

/**
 * Makes sure every active subject under correction today owes the check-in of the current
 * window of their level. A subject who already owes a scheduled one now (say, the level
 * changed mid-window) is left with it.
 */
export async function scheduleCheckins(
  db: Db,
  settings: CheckinSettings,
  nowMs: number,
): Promise<number> {
  const now = new Date(nowMs);
  const today = chinaDate(nowMs);
  let created = 0;
  for (const level of ['strict', 'normal', 'lenient'] as const) {
    const w = scheduledWindow(settings, level, nowMs);
    const result = await sql`
      INSERT INTO checkin_requests (subject_id, kind, window_start, due_at)
      SELECT s.id, 'scheduled', greatest(${new Date(w.startMs)}::timestamptz, s.created_at), ${new Date(w.endMs)}::timestamptz
      FROM subjects s
      WHERE s.status = 'active' AND s.management_level = ${level}
        AND s.term_start <= ${today}::date AND s.term_end >= ${today}::date
        AND NOT EXISTS (
          SELECT 1 FROM checkin_requests r
          WHERE r.subject_id = s.id AND r.kind = 'scheduled'
            AND r.window_start <= ${now} AND r.due_at > ${now})
      ON CONFLICT DO NOTHING`.execute(db);
    created += Number(result.numAffectedRows ?? 0);
  }
  return created;
}

export interface RequestOptions {
  kind: 'random' | 'manual';
  requestedBy: string | null;
  note?: string;
  method?: 'fingerprint' | 'voiceprint' | 'face';
  deadlineMinutes?: number;
}

/**
 * Asks the subject to check in now: a request with a deadline, and a `checkin_request`
 * command to their check-in device (terminal or phone). Without a device the request still
 * stands (the officer tells the subject by phone); `deviceId` is then null.
 */
export async function requestCheckin(
  trx: Transaction<DB>,
  settings: CheckinSettings,
  subjectId: string,
  nowMs: number,
  options: RequestOptions,
): Promise<string> {
  const device = await trx
    .selectFrom('subjects as s')
    .innerJoin('devices as d', 'd.id', 's.checkin_device_id')
    .select(['d.id', 'd.kind'])
    .where('s.id', '=', subjectId)
    .where('d.status', '=', 'active')
    .executeTakeFirst();
  const kind = device?.kind === 'phone' ? 'phone' : 'terminal';
  const minutes = options.deadlineMinutes ?? settings.requestDeadlineMinutes[kind];
  const method = options.method ?? settings.requestMethod[kind];
  const dueMs = nowMs + minutes * 60_000;
  let commandId: string | null = null;
  if (device) {
    commandId = await queueCommand(trx, {
      deviceId: device.id,
      type: 'checkin_request',
      params: { method, deadline: dueMs },
      ttlMs: dueMs - nowMs,
      createdBy: options.requestedBy,
    });
  }
  const row = await trx
    .insertInto('checkin_requests')
    .values({
      subject_id: subjectId,
      kind: options.kind,
      method,
      window_start: new Date(nowMs),
      due_at: new Date(dueMs),
      device_id: device?.id ?? null,
      command_id: commandId,
      requested_by: options.requestedBy,
      note: options.note ?? '',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Random requests (随机抽查): each subject with a check-in device gets on average
 * `randomPerMonth[level]` a month, only within the local daytime hours, never while
 * another request is pending. `elapsedMs` is the time since the last run.
 */
export async function randomCheckins(
  db: Kysely<DB>,
  settings: CheckinSettings,
  nowMs: number,
  elapsedMs: number,
  random: () => number,
): Promise<number> {
  const hour = new Date(nowMs + CST_OFFSET_MS).getUTCHours();
  if (hour < settings.randomHours.from || hour >= settings.randomHours.to) return 0;
  const activeShare = (settings.randomHours.to - settings.randomHours.from) / 24;
  const now = new Date(nowMs);
  const candidates = await db
    .selectFrom('subjects as s')
    .innerJoin('devices as d', 'd.id', 's.checkin_device_id')
    .select(['s.id', 's.management_level'])
    .where('s.status', '=', 'active')
    .where('d.status', '=', 'active')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('checkin_requests as r')
            .select('r.id')
            .whereRef('r.subject_id', '=', 's.id')
            .where('r.status', '=', 'pending')
            .where('r.kind', '!=', 'scheduled')
            .where('r.due_at', '>', now),
        ),
      ),
    )
    .execute();
  let sent = 0;
  for (const s of candidates) {
    const perMonth = settings.randomPerMonth[s.management_level];
    const p = (perMonth * elapsedMs) / (30 * DAY_MS * activeShare);
    if (random() >= p) continue;
    await db.transaction().execute((trx) =>
      requestCheckin(trx, settings, s.id, nowMs, {
        kind: 'random',
        requestedBy: null,
        note: '随机抽查 / random check',
      }),
    );
    sent++;
  }
  return sent;
}

/**
 * Pending requests whose deadline (plus the grace for late uploads) has passed: missed, one
 * `checkin_missed` alert each, and a notice to the officer.
 */
export async function missCheckins(
  db: Kysely<DB>,
  settings: CheckinSettings,
  nowMs: number,
): Promise<number> {
  const cutoff = new Date(nowMs - settings.missedGraceMinutes * 60_000);
  const due = await db
    .selectFrom('checkin_requests as r')
    .innerJoin('subjects as s', 's.id', 'r.subject_id')
    .select([
      'r.id',
      'r.subject_id',
      'r.kind',
      'r.method',
      'r.window_start',
      'r.due_at',
      'r.device_id',
      's.jurisdiction_code',
    ])
    .where('r.status', '=', 'pending')
    .where('r.due_at', '<=', cutoff)
    .orderBy('r.due_at')
    .limit(1000)
    .execute();
  let missed = 0;
  for (const r of due) {
    await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('checkin_requests')
        .set({ status: 'missed', updated_at: new Date() })
        .where('id', '=', r.id)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (!claimed) return; // met or handled by another server meanwhile
      const alertId = await raiseAlert(trx, {
        type: 'checkin_missed',
        subjectId: r.subject_id,
        jurisdictionCode: r.jurisdiction_code,
        deviceId: r.device_id,
        ref: r.id,
        atMs: r.due_at.getTime(),
        evidence: {
          kind: 'checkin_request',
          requestId: r.id,
          requestKind: r.kind,
          method: r.method,
          windowStart: r.window_start.toISOString(),
          dueAt: r.due_at.toISOString(),
        },
      });
      await trx
        .updateTable('checkin_requests')
        .set({ alert_id: alertId })
        .where('id', '=', r.id)
        .execute();
      await notify(trx, await recipientsFor(trx, r.subject_id), {
        kind: 'checkin_missed',
        title: '未按时核查 / check-in missed',
        body: `截止 ${r.due_at.toISOString()} / due ${r.due_at.toISOString()}`,
        subjectId: r.subject_id,
        refId: r.id,
        dedupeKey: `checkin_missed:${r.id}`,
      });
      missed++;
    });
  }
  return missed;
}

interface CheckinRow {
  device_no: number;
  t: Date;
  received_at: Date;
  subject_id: string | null;
  jurisdiction_code: string | null;
  device_id: string;
  method: 'fingerprint' | 'voiceprint' | 'face';
  result: 'match' | 'no_match' | 'spoof_suspected';
  score: number;
  liveness: boolean | null;
  lat_e6: number | null;
  lon_e6: number | null;
}

/**
 * Reviews every check-in not reviewed yet that arrived within `lookbackMs` (a terminal's
 * backlog uploaded a week late is still judged) and was taken within `maxAgeMs`: a failed or
 * spoofed one raises `checkin_failed`; a match meets the subject's earliest open request
 * whose window holds it (even one already judged missed: a late upload withdraws that
 * alert); a match with a location is compared with where the wristband was.
 */
export async function reviewCheckins(
  db: Kysely<DB>,
  separation: SeparationSettings,
  nowMs: number,
  lookbackMs = 7 * DAY_MS,
  maxAgeMs = 90 * DAY_MS,
): Promise<number> {
  const pending = await db
    .selectFrom('checkins as c')
    .innerJoin('devices as d', 'd.no', 'c.device_no')
    .leftJoin('subjects as s', 's.no', 'c.subject_no')
    .leftJoin('checkin_reviews as v', (join) =>
      join.onRef('v.device_no', '=', 'c.device_no').onRef('v.t', '=', 'c.t'),
    )
    .select([
      'c.device_no',
      'c.t',
      'c.received_at',
      's.id as subject_id',
      's.jurisdiction_code',
      'd.id as device_id',
      'c.method',
      'c.result',
      'c.score',
      'c.liveness',
      'c.lat_e6',
      'c.lon_e6',
    ])
    .where('c.received_at', '>', new Date(nowMs - lookbackMs))
    .where('c.t', '>', new Date(nowMs - maxAgeMs))
    .where('v.device_no', 'is', null)
    .orderBy('c.t')
    .limit(1000)
    .execute();
  let reviewed = 0;
  for (const c of pending as CheckinRow[]) {
    await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .insertInto('checkin_reviews')
        .values({ device_no: c.device_no, t: c.t, subject_id: c.subject_id, outcome: 'ok' })
        .onConflict((oc) => oc.doNothing())
        .returning('device_no')
        .executeTakeFirst();
      if (!claimed) return; // another server reviewed it
      reviewed++;
      if (!c.subject_id || !c.jurisdiction_code) {
        await setOutcome(trx, c, { outcome: 'unknown_subject' });
        return;
      }
      const subject = { id: c.subject_id, jurisdictionCode: c.jurisdiction_code };
      if (c.result !== 'match') {
        const alertId = await raiseAlert(trx, {
          type: 'checkin_failed',
          subjectId: subject.id,
          jurisdictionCode: subject.jurisdictionCode,
          deviceId: c.device_id,
          ref: `${c.device_no}:${c.t.getTime()}`,
          atMs: c.t.getTime(),
          receivedAtMs: c.received_at.getTime(),
          ...position(c),
          evidence: {
            kind: 'checkin',
            deviceId: c.device_id,
            t: c.t.toISOString(),
            method: c.method,
            result: c.result,
            score: c.score,
            liveness: c.liveness,
            ...position(c),
          },
        });
        await setOutcome(trx, c, { outcome: 'failed', alert_id: alertId });
        return;
      }
      const requestId = await meetRequest(trx, c, subject);
      const separated = await checkSeparation(trx, c, subject, separation);
      await setOutcome(trx, c, {
        outcome: separated?.alertId ? 'separation' : 'ok',
        request_id: requestId,
        distance_m: separated?.distanceM ?? null,
        alert_id: separated?.alertId ?? null,
      });
    });
  }
  return reviewed;
}

const position = (c: Pick<CheckinRow, 'lat_e6' | 'lon_e6'>) =>
  c.lat_e6 === null || c.lon_e6 === null ? {} : { lat: c.lat_e6 / 1e6, lon: c.lon_e6 / 1e6 };

async function setOutcome(
  trx: Transaction<DB>,
  c: CheckinRow,
  set: {
    outcome: 'ok' | 'failed' | 'separation' | 'unknown_subject';
    request_id?: string | null;
    distance_m?: number | null;
    alert_id?: string | null;
  },
) {
  await trx
    .updateTable('checkin_reviews')
    .set({ ...set, reviewed_at: new Date() })
    .where('device_no', '=', c.device_no)
    .where('t', '=', c.t)
    .execute();
}

async function meetRequest(
  trx: Transaction<DB>,
  c: CheckinRow,
  subject: { id: string; jurisdictionCode: string },
): Promise<string | null> {
  const request = await trx
    .selectFrom('checkin_requests')
    .select(['id', 'status', 'alert_id'])
    .where('subject_id', '=', subject.id)
    .where('status', 'in', ['pending', 'missed'])
    .where('window_start', '<=', c.t)
    .where('due_at', '>=', c.t)
    .where((eb) => eb.or([eb('method', 'is', null), eb('method', '=', c.method)]))
    .orderBy('due_at')
    .forUpdate()
    .limit(1)
    .executeTakeFirst();
  if (!request) return null;
  await trx
    .updateTable('checkin_requests')
    .set({ status: 'met', met_at: c.t, met_device_no: c.device_no, updated_at: new Date() })
    .where('id', '=', request.id)
    .execute();
  if (request.status === 'missed' && request.alert_id) {
    await withdrawAlert(
      trx,
      request.alert_id,
      '核查已按时完成（数据迟到），系统已撤回 / the check-in was made in time (uploaded late); withdrawn by the platform',
      subject.jurisdictionCode,
    );
  }
  return request.id;
}

interface BandFix {
  device_no: number;
  t: Date;
  lat_e6: number;
  lon_e6: number;
  acc_dm: number;
  src: number;
}

/**
 * 人机分离: where was the subject's wristband when they checked in? The fix nearest in time
 * (within `fixWindowS`); failing that, the last fix if the band had not moved at all for
 * `stationaryHours` (a band left on the table keeps telling the same place). Farther apart
 * than both accuracies plus the margin: `device_separation`, with both places as evidence.
 */
async function checkSeparation(
  trx: Transaction<DB>,
  c: CheckinRow,
  subject: { id: string; jurisdictionCode: string },
  settings: SeparationSettings,
): Promise<{ alertId: string | null; distanceM: number } | null> {
  if (c.lat_e6 === null || c.lon_e6 === null) return null;
  const subjectNo = await trx
    .selectFrom('subjects')
    .select('no')
    .where('id', '=', subject.id)
    .executeTakeFirstOrThrow();
  const tMs = c.t.getTime();
  const windowMs = settings.fixWindowS * 1000;
  const near = await sql<BandFix>`
    SELECT device_no, t, lat_e6, lon_e6, acc_dm, src FROM fixes
    WHERE subject_no = ${subjectNo.no} AND device_no <> ${c.device_no}
      AND t BETWEEN ${new Date(tMs - windowMs)} AND ${new Date(tMs + windowMs)}
    ORDER BY abs(extract(epoch FROM t - ${c.t}::timestamptz)), t
    LIMIT 1`.execute(trx);
  let band = near.rows[0];
  let stationarySinceMs: number | null = null;
  if (!band) {
    const since = new Date(tMs - settings.stationaryHours * 3_600_000);
    const recent = await trx
      .selectFrom('fixes')
      .select(['device_no', 't', 'lat_e6', 'lon_e6', 'acc_dm', 'src'])
      .where('subject_no', '=', subjectNo.no)
      .where('device_no', '<>', c.device_no)
      .where('t', '>=', since)
      .where('t', '<=', c.t)
      .orderBy('t')
      .execute();
    const last = recent[recent.length - 1];
    const first = recent[0];
    // "Not moved at all": fixes spanning most of the period, all close to the last one.
    const spansPeriod =
      first !== undefined && first.t.getTime() - since.getTime() <= settings.fixWindowS * 1000;
    const still =
      last !== undefined &&
      recent.every(
        (f) =>
          haversineM(f.lat_e6 / 1e6, f.lon_e6 / 1e6, last.lat_e6 / 1e6, last.lon_e6 / 1e6) <=
          settings.stationaryRadiusM,
      );
    if (!last || !spansPeriod || !still) return null;
    band = last;
    stationarySinceMs = first.t.getTime();
  }
  const checkinLat = c.lat_e6 / 1e6;
  const checkinLon = c.lon_e6 / 1e6;
  const bandLat = band.lat_e6 / 1e6;
  const bandLon = band.lon_e6 / 1e6;
  const d = haversineM(checkinLat, checkinLon, bandLat, bandLon);
  const bandAccM = band.acc_dm / 10;
  const thresholdM = settings.checkinAccuracyM + bandAccM + settings.marginM;
  if (d <= thresholdM) return { alertId: null, distanceM: d };
  const bandDevice = await trx
    .selectFrom('devices')
    .select('id')
    .where('no', '=', band.device_no)
    .executeTakeFirst();
  const alertId = await raiseAlert(trx, {
    type: 'device_separation',
    subjectId: subject.id,
    jurisdictionCode: subject.jurisdictionCode,
    deviceId: bandDevice?.id ?? null,
    ref: `${c.device_no}:${tMs}`,
    atMs: tMs,
    receivedAtMs: c.received_at.getTime(),
    lat: checkinLat,
    lon: checkinLon,
    evidence: {
      kind: 'separation',
      distanceM: Math.round(d),
      thresholdM: Math.round(thresholdM),
      checkin: {
        deviceId: c.device_id,
        t: c.t.toISOString(),
        method: c.method,
        lat: checkinLat,
        lon: checkinLon,
        accuracyM: settings.checkinAccuracyM,
      },
      wristband: {
        deviceId: bandDevice?.id ?? null,
        t: band.t.toISOString(),
        lat: bandLat,
        lon: bandLon,
        accuracyM: bandAccM,
        source: sourceName(band.src),
        stationarySince:
          stationarySinceMs === null ? null : new Date(stationarySinceMs).toISOString(),
      },
    },
  });
  return { alertId, distanceM: d };
}
