import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import {
  DEFAULT_ENGINE_OPTIONS,
  replayTrack,
  type AlertEvidence,
  type FixInput,
  type ZoneInput,
} from '@ccm/geofence';
import { FIX_SOURCES } from '@ccm/contracts';
import { audit } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { iso } from '../http';
import { findSubjectWithPath, fixesForReplay } from './repository';
import type { DryRunBody, DryRunResult, ZoneDefinition } from './schemas';
import { assertValidGeometry, geometryBbox, subjectNotFound, type RequestContext } from './service';

/**
 * Zone dry run: replays a subject's stored track of the last N days against a proposed
 * zone with the live engine's rules (`replayTrack`), so an officer sees the false alarms a
 * zone would cause before saving it. Only fixes inside the subject's monitoring orders are
 * read (the gateway stores no others), and the read is audited as a position read.
 */

const DAY_MS = 86_400_000;
/** 30 days at one fix every 15 s is 172,800: the cap keeps a runaway device bounded. */
export const MAX_REPLAY_FIXES = 200_000;

export const PROPOSED_ZONE_ID = 'proposed';

function zoneInput(zone: ZoneDefinition): ZoneInput {
  return {
    id: PROPOSED_ZONE_ID,
    kind: zone.kind,
    purpose: zone.purpose,
    geometry: zone.geometry,
    schedule: zone.schedule,
    rules: {
      bufferM: zone.bufferM,
      ...(zone.confirmFixes != null ? { confirmFixes: zone.confirmFixes } : {}),
      ...(zone.confirmSeconds != null ? { confirmSeconds: zone.confirmSeconds } : {}),
    },
  };
}

/**
 * How late the live gateway would have raised it: the latest receive time among the
 * confirming fixes minus the time of the fix that confirmed it (the engine's definition).
 */
function lateByMs(evidence: AlertEvidence): number {
  if (evidence.kind === 'fixes' && evidence.fixes.length > 0) {
    const confirmedAt = Math.max(...evidence.fixes.map((f) => f.fixTimeMs));
    return Math.max(0, Math.max(...evidence.fixes.map((f) => f.receivedAtMs)) - confirmedAt);
  }
  if (evidence.kind === 'segment') {
    return Math.max(
      0,
      Math.max(evidence.from.receivedAtMs, evidence.to.receivedAtMs) - evidence.to.fixTimeMs,
    );
  }
  return 0;
}

export async function dryRunZone(
  db: Kysely<DB>,
  user: AuthUser,
  body: DryRunBody,
  ctx: RequestContext,
): Promise<DryRunResult> {
  assertValidGeometry(body.zone.geometry, 'zone.geometry');
  const subject = await findSubjectWithPath(db, user, body.subjectId);
  if (!subject) throw subjectNotFound();
  const to = ctx.now;
  const from = new Date(to.getTime() - body.days * DAY_MS);

  const rows = await fixesForReplay(db, subject, { from, to }, MAX_REPLAY_FIXES);
  const truncated = rows.length > MAX_REPLAY_FIXES;
  const fixes: FixInput[] = [];
  for (const r of rows.slice(0, MAX_REPLAY_FIXES).reverse()) {
    const source = FIX_SOURCES[r.src];
    if (!source) continue;
    const fixTimeMs = r.t.getTime();
    fixes.push({
      fixTimeMs,
      lat: r.lat_e6 / 1e6,
      lon: r.lon_e6 / 1e6,
      accuracyM: r.acc_dm / 10,
      source,
      ...(r.spd_cms !== null ? { speedMps: r.spd_cms / 100 } : {}),
      receivedAtMs: fixTimeMs + r.recv_lag_ms,
    });
  }

  const replay = replayTrack(fixes, [zoneInput(body.zone)], {
    subjectId: subject.id,
    nowMs: to.getTime(),
  });
  const alerts = replay.alerts.map((a) => {
    const late = lateByMs(a.evidence);
    return {
      type: a.type,
      startedAt: iso(new Date(a.startedAtMs)),
      endedAt: a.endedAtMs === null ? null : iso(new Date(a.endedAtMs)),
      lat: a.lat,
      lon: a.lon,
      late: late > DEFAULT_ENGINE_OPTIONS.lateAfterMs,
      lateByMs: late,
      evidence: a.evidence,
      endEvidence: a.endEvidence,
    };
  });

  await audit(db, {
    actor: user,
    action: 'positions.dry_run',
    resourceType: 'subject',
    resourceId: subject.id,
    jurisdictionCode: subject.jurisdiction_code,
    detail: {
      subjectId: subject.id,
      from: iso(from),
      to: iso(to),
      days: body.days,
      fixesReplayed: fixes.length,
      truncated,
      zone: {
        kind: body.zone.kind,
        purpose: body.zone.purpose,
        bbox: geometryBbox(body.zone.geometry),
      },
      alerts: alerts.length,
    },
    ip: ctx.ip,
  });

  return {
    subjectId: subject.id,
    from: iso(from),
    to: iso(to),
    fixesReplayed: fixes.length,
    truncated,
    alerts,
    count: alerts.length,
  };
}
