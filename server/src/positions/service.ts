import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { audit } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { AppError, notFound } from '../errors';
import { Uuid, decodeCursor, encodeCursor, iso } from '../http';
import {
  findSubjectInScope,
  latestPositions,
  orderWindowsIn,
  readTrack,
  unresolvedAlertCounts,
  type TimeWindow,
} from './repository';
import { sourceName, trackPoint, type TrackPoint } from './track';

/** Officers', bureaus' and auditors' reads of positions; every read is audited. */

export const DEFAULT_MAX_POINTS = 2000;

export interface TrackResult {
  subjectId: string;
  from: string;
  to: string;
  /** Fixes inside the window and the subject's orders. */
  total: number;
  downsampled: boolean;
  /** The parts of the window covered by an order: positions exist only there. */
  orderWindows: { startsAt: string; endsAt: string }[];
  points: TrackPoint[];
}

export async function subjectTrack(
  db: Kysely<DB>,
  actor: { user: AuthUser; ip?: string | undefined },
  subjectId: string,
  w: TimeWindow,
  options: { raw: boolean; maxPoints: number },
): Promise<TrackResult> {
  const subject = await findSubjectInScope(db, actor.user, subjectId);
  if (!subject) throw notFound('SUBJECT_NOT_FOUND', '矫正对象 / subject');
  const [track, windows] = await Promise.all([
    readTrack(db, subject, w, { maxPoints: options.raw ? null : options.maxPoints }),
    orderWindowsIn(db, subject.id, w),
  ]);
  const downsampled = track.rows.length < track.total;
  await audit(db, {
    actor: actor.user,
    action: 'positions.read',
    resourceType: 'subject',
    resourceId: subject.id,
    jurisdictionCode: subject.jurisdiction_code,
    detail: {
      subjectId: subject.id,
      from: iso(w.from),
      to: iso(w.to),
      count: track.rows.length,
      total: track.total,
      downsampled,
      raw: options.raw,
    },
    ip: actor.ip ?? null,
  });
  return {
    subjectId: subject.id,
    from: iso(w.from),
    to: iso(w.to),
    total: track.total,
    downsampled,
    orderWindows: windows.map((o) => ({ startsAt: iso(o.startsAt), endsAt: iso(o.endsAt) })),
    points: track.rows.map(trackPoint),
  };
}

export interface LatestPosition {
  subjectId: string;
  subjectName: string;
  deviceId: string;
  t: string;
  lat: number;
  lon: number;
  accuracyM: number | null;
  source: ReturnType<typeof sourceName> | null;
  battery: number | null;
  online: boolean;
  openAlerts: number;
}

function subjectCursor(cursor: string): string {
  const { value, id } = decodeCursor(cursor);
  if (value !== 'subject' || !Uuid.safeParse(id).success)
    throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
  return id;
}

export async function latestInScope(
  db: Kysely<DB>,
  actor: { user: AuthUser; ip?: string | undefined },
  options: { now: Date; limit: number; cursor?: string | undefined },
): Promise<{ items: LatestPosition[]; nextCursor: string | null }> {
  const rows = await latestPositions(db, actor.user, {
    now: options.now,
    limit: options.limit + 1,
    afterSubjectId: options.cursor ? subjectCursor(options.cursor) : undefined,
  });
  const pageRows = rows.slice(0, options.limit);
  const alerts = await unresolvedAlertCounts(
    db,
    actor.user,
    pageRows.map((r) => r.subject_id),
  );
  const items = pageRows.map((r) => ({
    subjectId: r.subject_id,
    subjectName: r.subject_name,
    deviceId: r.device_id,
    t: iso(r.last_fix_t),
    lat: r.last_lat_e6 / 1e6,
    lon: r.last_lon_e6 / 1e6,
    accuracyM: r.last_acc_dm === null ? null : r.last_acc_dm / 10,
    source: r.last_src === null ? null : sourceName(r.last_src),
    battery: r.battery,
    online: r.online,
    openAlerts: alerts.get(r.subject_id) ?? 0,
  }));
  await audit(db, {
    actor: actor.user,
    action: 'positions.latest',
    resourceType: 'positions',
    jurisdictionCode: actor.user.jurisdictionCode,
    detail: { count: items.length, at: iso(options.now), cursor: options.cursor ?? null },
    ip: actor.ip ?? null,
  });
  const last = pageRows.at(-1);
  return {
    items,
    nextCursor:
      rows.length > options.limit && last ? encodeCursor('subject', last.subject_id) : null,
  };
}
