import type { AlertType } from '@ccm/contracts';
import { ZONE_ALERT_TYPES, alertKey, eventFromRecord, lateness, raisedEvents } from '../alerts';
import type { AlertRecord, DerivedState } from '../state';
import type { AlertEvent, AlertEvidence, EngineOptions } from '../types';
import type { Transition } from './step';

/**
 * Episodes are what the fixes say happened (violation from … to …); records are what was
 * already raised. Reconciling the two is how late fixes become late alerts or corrections
 * without ever raising the same violation twice.
 */

export interface Episode {
  type: AlertType;
  zoneId: string;
  startedAtMs: number;
  endedAtMs: number | null;
  lat: number | null;
  lon: number | null;
  lateByMs: number;
  /** Null for a violation already open in the start state (its record has the details). */
  openEvidence: AlertEvidence | null;
  endEvidence: AlertEvidence | null;
  /** Inside a suspension (approved leave): its ref; null for a violation. */
  authorisedBy: string | null;
}

export interface DerivedEpisodes {
  episodes: Episode[];
}

function groupKey(type: AlertType, zoneId: string): string {
  return `${type}|${zoneId}`;
}

export function deriveEpisodes(start: DerivedState, transitions: readonly Transition[]) {
  const episodes: Episode[] = [];
  const open = new Map<string, Episode>();
  for (const [zoneId, track] of Object.entries(start.tracks)) {
    if (track.status !== 'violating' || track.startedAtMs === null) continue;
    const episode: Episode = {
      type: track.type,
      zoneId,
      startedAtMs: track.startedAtMs,
      endedAtMs: null,
      lat: null,
      lon: null,
      lateByMs: 0,
      openEvidence: null,
      endEvidence: null,
      authorisedBy: track.authorisedBy ?? null,
    };
    episodes.push(episode);
    open.set(groupKey(track.type, zoneId), episode);
  }
  for (const t of transitions) {
    if (t.kind === 'rejected' || t.kind === 'reanchored') continue;
    const group = groupKey(t.type, t.zoneId);
    if (t.kind === 'open') {
      if (open.has(group)) continue;
      const episode: Episode = {
        type: t.type,
        zoneId: t.zoneId,
        startedAtMs: t.atMs,
        endedAtMs: null,
        lat: t.lat,
        lon: t.lon,
        lateByMs: t.lateByMs,
        openEvidence: t.evidence,
        endEvidence: null,
        authorisedBy: t.authorisedBy,
      };
      episodes.push(episode);
      open.set(group, episode);
    } else if (t.kind === 'end') {
      const episode = open.get(group);
      if (!episode) continue;
      episode.endedAtMs = t.atMs;
      episode.endEvidence = t.evidence;
      open.delete(group);
    } else {
      episodes.push({
        type: t.type,
        zoneId: t.zoneId,
        startedAtMs: t.atMs,
        endedAtMs: t.endedAtMs,
        lat: t.lat,
        lon: t.lon,
        lateByMs: t.lateByMs,
        openEvidence: t.evidence,
        endEvidence: t.evidence,
        authorisedBy: null,
      });
    }
  }
  return { episodes } satisfies DerivedEpisodes;
}

function overlaps(
  a: { startedAtMs: number; endedAtMs: number | null },
  b: { startedAtMs: number; endedAtMs: number | null },
): boolean {
  return a.startedAtMs <= (b.endedAtMs ?? Infinity) && b.startedAtMs <= (a.endedAtMs ?? Infinity);
}

/** Could this record be this episode's alert: same type, zone and authorisation. */
function sameAlert(e: Episode, r: AlertRecord): boolean {
  return e.type === r.type && e.zoneId === r.zoneId && e.authorisedBy === (r.authorisedBy ?? null);
}

export interface ReconcileContext {
  subjectId: string;
  deviceId: string | null;
  options: EngineOptions;
  /** Records that ended before this time are history and left alone. */
  horizonMs: number;
}

/**
 * Matches each episode with the earliest overlapping alert of the same type, zone and
 * authorisation (a leave's authorised episode is never the violation next to it): matched →
 * `update`/`end` if its times changed; unmatched → `open` (possibly already ended, possibly
 * late). A raised alert that no episode overlaps any more is retracted: with every fix in
 * time order, the rules were not met.
 */
export function reconcile(
  derived: DerivedEpisodes,
  records: readonly AlertRecord[],
  ctx: ReconcileContext,
): { events: AlertEvent[]; records: readonly AlertRecord[] } {
  const events: AlertEvent[] = [];
  // Ended alerts before the horizon are history, unless a derived episode (one already open
  // in `base`) overlaps them: that is the same violation.
  const relevant = records.filter(
    (r) =>
      r.zoneId !== null &&
      !r.retracted &&
      ZONE_ALERT_TYPES.has(r.type) &&
      (r.endedAtMs === null ||
        r.endedAtMs >= ctx.horizonMs ||
        derived.episodes.some((e) => sameAlert(e, r) && overlaps(r, e))),
  );
  const groups = new Set([
    ...derived.episodes.map((e) => groupKey(e.type, e.zoneId)),
    ...relevant.map((r) => groupKey(r.type, r.zoneId ?? '')),
  ]);
  // Most batches derive no episode and have no zone alert open: nothing is copied then.
  if (groups.size === 0) return { events, records };
  const next = [...records];
  let keys: Set<string> | null = null;
  for (const group of groups) {
    const episodes = derived.episodes
      .filter((e) => groupKey(e.type, e.zoneId) === group)
      .sort((a, b) => a.startedAtMs - b.startedAtMs);
    const raised = relevant
      .filter((r) => groupKey(r.type, r.zoneId ?? '') === group)
      .sort((a, b) => a.startedAtMs - b.startedAtMs);
    const matched = new Set<AlertRecord>();
    for (const episode of episodes) {
      const match = raised.find(
        (r) => !matched.has(r) && sameAlert(episode, r) && overlaps(r, episode),
      );
      if (match) {
        matched.add(match);
        const change = applyEpisode(match, episode, ctx);
        if (change) {
          next[next.indexOf(match)] = change.record;
          events.push(change.event);
        }
        continue;
      }
      // A corrected alert keeps the key of its original start, which may be this start.
      const base = alertKey(ctx.subjectId, episode.type, episode.zoneId, episode.startedAtMs);
      keys ??= new Set(records.map((r) => r.key));
      let key = base;
      for (let n = 2; keys.has(key); n++) key = `${base}:${n}`;
      keys.add(key);
      const record: AlertRecord = {
        key,
        type: episode.type,
        zoneId: episode.zoneId,
        startedAtMs: episode.startedAtMs,
        endedAtMs: episode.endedAtMs,
        lat: episode.lat,
        lon: episode.lon,
        ...lateness(episode.lateByMs, ctx.options),
        deviceId: ctx.deviceId,
        retracted: false,
        ...(episode.authorisedBy !== null && { authorisedBy: episode.authorisedBy }),
      };
      next.push(record);
      const derivedNote: AlertEvidence = { kind: 'revised', reason: 'derived' };
      events.push(
        ...raisedEvents(
          record,
          ctx.subjectId,
          episode.openEvidence ?? derivedNote,
          episode.endEvidence ?? derivedNote,
          ctx.options,
        ),
      );
    }
    for (const record of raised) {
      if (matched.has(record)) continue;
      const retracted = {
        ...record,
        endedAtMs: record.endedAtMs ?? record.startedAtMs,
        retracted: true,
      };
      next[next.indexOf(record)] = retracted;
      events.push(
        eventFromRecord(
          'retract',
          retracted,
          ctx.subjectId,
          { kind: 'revised', reason: 'late fixes show this violation was not confirmed' },
          ctx.options,
        ),
      );
    }
  }
  return { events, records: next };
}

function applyEpisode(
  record: AlertRecord,
  episode: Episode,
  ctx: ReconcileContext,
): { record: AlertRecord; event: AlertEvent } | null {
  const startMoved = episode.startedAtMs !== record.startedAtMs;
  if (!startMoved && episode.endedAtMs === record.endedAtMs) return null;
  const updated: AlertRecord = {
    ...record,
    startedAtMs: episode.startedAtMs,
    endedAtMs: episode.endedAtMs,
    lat: startMoved && episode.lat !== null ? episode.lat : record.lat,
    lon: startMoved && episode.lon !== null ? episode.lon : record.lon,
  };
  const revised: AlertEvidence = { kind: 'revised', reason: 'late fixes changed the times' };
  if (!startMoved && record.endedAtMs === null) {
    return {
      record: updated,
      event: eventFromRecord(
        'end',
        updated,
        ctx.subjectId,
        episode.endEvidence ?? revised,
        ctx.options,
      ),
    };
  }
  const evidence = (startMoved ? episode.openEvidence : episode.endEvidence) ?? revised;
  return {
    record: updated,
    event: eventFromRecord('update', updated, ctx.subjectId, evidence, ctx.options),
  };
}
