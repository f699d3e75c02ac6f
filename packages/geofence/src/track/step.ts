import type { AlertType } from '@ccm/contracts';
import { toEvidenceFix } from '../alerts';
import { EVIDENCE_DISTANCE_CAP_M } from '../defaults';
import { classifyPoint, pathPenetration } from '../geo/geometry';
import { haversineM } from '../geo/projection';
import type { DerivedState, Evidence, StoredFix, ZoneTrack } from '../state';
import { cloneDerived, GNSS } from '../state';
import type { AlertEvidence, EngineOptions } from '../types';
import type { CompiledZone, SubjectZones } from '../zones';
import { extendEvidence, isConfirmed } from './confirm';

/**
 * The fix-by-fix core. Given fixes in time order it keeps, per zone, whether the subject is
 * compliant or violating and the evidence for a change, and reports transitions. It is
 * deterministic in (start state, fixes, zones): live processing and re-derivation after late
 * fixes run the same code.
 */

export interface StepContext {
  subject: SubjectZones;
  options: EngineOptions;
}

interface ZoneRef {
  zoneId: string;
  type: AlertType;
}

export type Transition =
  | (ZoneRef & {
      kind: 'open';
      atMs: number;
      lat: number;
      lon: number;
      lateByMs: number;
      evidence: AlertEvidence;
      /** Opened inside a suspension: its ref. */
      authorisedBy: string | null;
    })
  | (ZoneRef & { kind: 'end'; atMs: number; evidence: AlertEvidence })
  | (ZoneRef & {
      kind: 'segment';
      atMs: number;
      endedAtMs: number;
      lat: number;
      lon: number;
      lateByMs: number;
      evidence: AlertEvidence;
    })
  | { kind: 'rejected'; fixTimeMs: number }
  | { kind: 'reanchored'; fixTimesMs: number[] };

/** Replays `fixes` (sorted, unique times) from `start`; closes schedule windows ended by `nowMs`. */
export function replay(
  start: DerivedState,
  fixes: readonly StoredFix[],
  ctx: StepContext,
  nowMs: number | null,
): { derived: DerivedState; transitions: Transition[] } {
  const derived = cloneDerived(start);
  const transitions: Transition[] = [];
  for (const fix of fixes) stepFix(derived, fix, ctx, transitions);
  if (nowMs !== null) closeEndedWindows(derived, nowMs, transitions);
  return { derived, transitions };
}

export function stepFix(d: DerivedState, fix: StoredFix, ctx: StepContext, out: Transition[]) {
  closeEndedWindows(d, fix[0], out);
  const { maxSpeedMps, reanchorFixes } = ctx.options;
  if (!d.anchor || isPlausible(d.anchor, fix, maxSpeedMps)) {
    d.suspects = [];
    acceptFix(d, fix, ctx, out);
    return;
  }
  out.push({ kind: 'rejected', fixTimeMs: fix[0] });
  const lastSuspect = d.suspects[d.suspects.length - 1];
  d.suspects =
    lastSuspect && isPlausible(lastSuspect, fix, maxSpeedMps) ? [...d.suspects, fix] : [fix];
  if (d.suspects.length >= reanchorFixes) {
    // Several impossible-from-the-anchor fixes that agree with each other: the anchor was
    // the outlier (or the subject rode something faster than the limit). Follow them.
    const run = d.suspects;
    d.suspects = [];
    out.push({ kind: 'reanchored', fixTimesMs: run.map((f) => f[0]) });
    for (const f of run) acceptFix(d, f, ctx, out);
  }
}

/** Could the subject have moved from a to b? Both accuracies are given to the subject. */
export function isPlausible(a: StoredFix, b: StoredFix, maxSpeedMps: number): boolean {
  const seconds = Math.abs(b[0] - a[0]) / 1000;
  return haversineM(a[1], a[2], b[1], b[2]) - a[3] - b[3] <= maxSpeedMps * seconds;
}

/** Ends violations whose schedule window closed at or before `atMs`, at the window end. */
export function closeEndedWindows(d: DerivedState, atMs: number, out: Transition[]): void {
  for (const [zoneId, track] of Object.entries(d.tracks)) {
    if (track.status !== 'violating' || track.windowEndMs === null || track.windowEndMs > atMs) {
      continue;
    }
    delete d.tracks[zoneId];
    out.push({
      kind: 'end',
      zoneId,
      type: track.type,
      atMs: track.windowEndMs,
      evidence: { kind: 'schedule_end', windowEndMs: track.windowEndMs },
    });
  }
}

function acceptFix(d: DerivedState, fix: StoredFix, ctx: StepContext, out: Transition[]): void {
  d.anchor = fix;
  const from = fix[4] === GNSS ? segmentStart(d.lastGnss, fix, ctx.options) : null;
  // One R-tree search serves both the fix and the path to it.
  const nearby = ctx.subject.exclusionIn(
    Math.min(fix[2], from?.[2] ?? fix[2]),
    Math.min(fix[1], from?.[1] ?? fix[1]),
    Math.max(fix[2], from?.[2] ?? fix[2]),
    Math.max(fix[1], from?.[1] ?? fix[1]),
  );
  for (const zone of relevantZones(d, fix, ctx.subject, nearby)) {
    evaluateZone(d, zone, fix, ctx, out);
  }
  endRemovedZones(d, fix, ctx.subject, out);
  if (from) checkSegment(d, from, fix, nearby, ctx, out);
  if (fix[4] === GNSS) d.lastGnss = fix;
}

/**
 * The previous GNSS fix if the path from it could have crossed a zone: close enough in time,
 * plausible, and long enough. Signed distance to an edge changes by at most the distance
 * moved, so going from outside-by-(acc_a + buffer) to inside-by-(max acc + buffer) and out
 * again needs at least acc_a + acc_b + 2·max(acc) of path, even with no buffer.
 */
function segmentStart(
  from: StoredFix | null,
  to: StoredFix,
  options: EngineOptions,
): StoredFix | null {
  if (!from) return null;
  const dtMs = to[0] - from[0];
  if (dtMs <= 0 || dtMs > options.segmentMaxGapS * 1000) return null;
  if (!isPlausible(from, to, options.maxSpeedMps)) return null;
  const minPathM = from[3] + to[3] + 2 * Math.max(from[3], to[3]);
  return haversineM(from[1], from[2], to[1], to[2]) > minPathM ? from : null;
}

/**
 * Inclusion zones always (being far outside is the point), exclusion zones whose box holds
 * the fix (R-tree), and zones with evidence or an open violation. An exclusion zone missing
 * from this list is one the fix is clearly outside of, which changes nothing.
 */
function relevantZones(
  d: DerivedState,
  fix: StoredFix,
  subject: SubjectZones,
  nearby: readonly CompiledZone[],
): CompiledZone[] {
  const [, lat, lon] = fix;
  const zones = [...subject.inclusion];
  for (const z of nearby) {
    if (lon >= z.box.minX && lon <= z.box.maxX && lat >= z.box.minY && lat <= z.box.maxY) {
      zones.push(z);
    }
  }
  const seen = new Set(zones.map((z) => z.id));
  for (const zoneId of Object.keys(d.tracks)) {
    const zone = subject.index.byId.get(zoneId);
    if (zone && !seen.has(zoneId) && subject.includes(zoneId)) {
      zones.push(zone);
      seen.add(zoneId);
    }
  }
  return zones;
}

function endRemovedZones(
  d: DerivedState,
  fix: StoredFix,
  subject: SubjectZones,
  out: Transition[],
): void {
  for (const [zoneId, track] of Object.entries(d.tracks)) {
    if (subject.includes(zoneId)) continue;
    delete d.tracks[zoneId];
    if (track.status === 'violating') {
      out.push({
        kind: 'end',
        zoneId,
        type: track.type,
        atMs: fix[0],
        evidence: { kind: 'zone_removed' },
      });
    }
  }
}

type Verdict = 'violating' | 'compliant' | 'ambiguous';

/** Clearly past the edge by accuracy + buffer (in the subject's favour for both kinds), or not. */
function verdictOf(zone: CompiledZone, fix: StoredFix): Verdict {
  const where = classifyPoint(zone.geometry, fix[2], fix[1], fix[3] + zone.rules.bufferM);
  if (where === 'near') return 'ambiguous';
  return (where === 'outside') === (zone.kind === 'inclusion') ? 'violating' : 'compliant';
}

function evaluateZone(
  d: DerivedState,
  zone: CompiledZone,
  fix: StoredFix,
  ctx: StepContext,
  out: Transition[],
): void {
  let track: ZoneTrack | undefined = d.tracks[zone.id];
  const ref: ZoneRef = { zoneId: zone.id, type: zone.alertType };
  const authorisedBy = ctx.subject.authorisedAt(zone, fix[0]);
  const applies = authorisedBy !== null || ctx.subject.isActive(zone, fix[0]);
  if (track && (!applies || (track.authorisedBy ?? null) !== authorisedBy)) {
    // Outside its window a zone is not evaluated, and evidence does not carry over; nor does
    // it across the start or end of a suspension (a leave's authorised episode is its own).
    if (track.status === 'violating') {
      // Its window's end, unless that moved (a leave ended early): then this fix's time.
      const endMs = Math.min(track.windowEndMs ?? fix[0], fix[0]);
      out.push({ ...ref, kind: 'end', atMs: endMs, evidence: scheduleEnd(endMs) });
    }
    delete d.tracks[zone.id];
    track = undefined;
  }
  if (!applies) return;
  const verdict = verdictOf(zone, fix);
  if (verdict === 'ambiguous') return; // near the edge: neither confirms nor resets
  const status = track?.status ?? 'compliant';
  const pointsAway = (verdict === 'violating') === (status === 'compliant');
  if (!pointsAway) {
    if (!track || status === 'compliant') delete d.tracks[zone.id];
    else track.pending = null;
    return;
  }
  const maxGapMs = ctx.options.evidenceMaxGapS * 1000;
  const pending = extendEvidence(track?.pending ?? null, fix, maxGapMs);
  const opening = status === 'compliant';
  if (!isConfirmed(pending, zone.rules, ctx.options.minFixesForTime, opening)) {
    d.tracks[zone.id] = { ...(track ?? idleTrack(zone, authorisedBy)), pending };
    return;
  }
  const evidence = fixesEvidence(zone, pending);
  if (opening) {
    d.tracks[zone.id] = {
      type: zone.alertType,
      status: 'violating',
      startedAtMs: pending.firstMs,
      windowEndMs: ctx.subject.activeUntilMs(zone, fix[0]),
      pending: null,
      ...(authorisedBy !== null && { authorisedBy }),
    };
    const first = pending.fixes[0] ?? fix;
    out.push({
      ...ref,
      kind: 'open',
      atMs: pending.firstMs,
      lat: first[1],
      lon: first[2],
      lateByMs: Math.max(0, pending.maxReceivedAtMs - fix[0]),
      evidence,
      authorisedBy,
    });
  } else {
    delete d.tracks[zone.id];
    out.push({ ...ref, kind: 'end', atMs: pending.firstMs, evidence });
  }
}

function idleTrack(zone: CompiledZone, authorisedBy: string | null): ZoneTrack {
  return {
    type: zone.alertType,
    status: 'compliant',
    startedAtMs: null,
    windowEndMs: null,
    pending: null,
    ...(authorisedBy !== null && { authorisedBy }),
  };
}

function scheduleEnd(windowEndMs: number): AlertEvidence {
  return { kind: 'schedule_end', windowEndMs };
}

function fixesEvidence(zone: CompiledZone, pending: Evidence): AlertEvidence {
  return {
    kind: 'fixes',
    fixes: pending.fixes.map((f) => toEvidenceFix(zone.geometry, f, zone.rules.bufferM)),
    count: pending.count,
    confirmFixes: zone.rules.confirmFixes,
    confirmSeconds: zone.rules.confirmSeconds,
    bufferM: zone.rules.bufferM,
  };
}

/**
 * Sparse fixes: did the straight path between two consecutive accepted GNSS fixes, both
 * clearly outside, go through an exclusion zone deeper than accuracy + buffer? Zones with a
 * track are skipped: the fix-by-fix rules already have them.
 */
function checkSegment(
  d: DerivedState,
  from: StoredFix,
  to: StoredFix,
  candidates: readonly CompiledZone[],
  ctx: StepContext,
  out: Transition[],
): void {
  const dtMs = to[0] - from[0];
  for (const zone of candidates) {
    if (d.tracks[zone.id]) continue;
    if (!ctx.subject.isActive(zone, from[0]) || !ctx.subject.isActive(zone, to[0])) continue;
    if (verdictOf(zone, from) !== 'compliant' || verdictOf(zone, to) !== 'compliant') continue;
    const marginM = Math.max(from[3], to[3]) + zone.rules.bufferM;
    const a = { lon: from[2], lat: from[1] };
    const b = { lon: to[2], lat: to[1] };
    // Deciding needs depth > margin only; the reported depth is capped to keep this cheap.
    const depthCapM = Math.min(EVIDENCE_DISTANCE_CAP_M, Math.max(1_000, 2 * marginM));
    const hit = pathPenetration(zone.geometry, a, b, marginM, depthCapM);
    if (!hit) continue;
    const point = (s: number) => ({
      lat: a.lat + s * (b.lat - a.lat),
      lon: a.lon + s * (b.lon - a.lon),
      atMs: Math.round(from[0] + s * dtMs),
    });
    const entry = point(hit.entryS);
    const exit = point(hit.exitS);
    out.push({
      kind: 'segment',
      zoneId: zone.id,
      type: zone.alertType,
      atMs: entry.atMs,
      endedAtMs: exit.atMs,
      lat: entry.lat,
      lon: entry.lon,
      lateByMs: Math.max(0, Math.max(from[5], to[5]) - to[0]),
      evidence: {
        kind: 'segment',
        from: toEvidenceFix(zone.geometry, from, zone.rules.bufferM),
        to: toEvidenceFix(zone.geometry, to, zone.rules.bufferM),
        entry,
        exit,
        depthM: Math.round(hit.depthM * 10) / 10,
        marginM,
      },
    });
  }
}
