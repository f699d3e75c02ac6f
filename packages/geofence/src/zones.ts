import Flatbush from 'flatbush';
import type { AlertType, WeeklySchedule, ZoneKind, ZonePurpose, ZoneRules } from '@ccm/contracts';
import { DEFAULT_ZONE_RULES } from './defaults';
import { activeWindowEndMs, isScheduleActive } from './schedule';
import type { Box, CompiledGeometry } from './geo/geometry';
import { compileGeometry } from './geo/geometry';
import type { ZoneProblem } from './geo/validate';
import { validateZoneGeometry } from './geo/validate';
import type { ZoneAssignment, ZoneInput } from './types';

/** A zone prepared for evaluation. */
export interface CompiledZone {
  id: string;
  kind: ZoneKind;
  purpose: ZonePurpose;
  alertType: AlertType;
  geometry: CompiledGeometry;
  schedule: WeeklySchedule | null;
  rules: ZoneRules;
  box: Box;
}

/**
 * Every zone the caller knows (shared county boundaries and per-subject zones alike) in one
 * static R-tree over their bounding boxes. Build it once and rebuild when zones change;
 * which zones apply to whom is `zonesForSubject`.
 */
export interface ZoneIndex {
  readonly zones: readonly CompiledZone[];
  readonly byId: ReadonlyMap<string, CompiledZone>;
  readonly tree: Flatbush | null;
  /** Zones left out because their geometry cannot be evaluated (non-finite coordinates …). */
  readonly rejected: readonly { zoneId: string; problems: ZoneProblem[] }[];
}

/** exclusion → zone_enter; curfew inclusion → curfew; other inclusion → zone_exit. */
export function zoneAlertType(kind: ZoneKind, purpose: ZonePurpose | undefined): AlertType {
  if (kind === 'exclusion') return 'zone_enter';
  return purpose === 'curfew' ? 'curfew' : 'zone_exit';
}

/** Problems that make a geometry unusable; a self-intersection is reported but still evaluable. */
const BLOCKING = new Set<ZoneProblem['code']>([
  'unsupported_geometry',
  'empty_geometry',
  'non_finite_coordinate',
  'coordinate_out_of_range',
  'ring_too_few_points',
  'invalid_circle_center',
  'invalid_circle_radius',
]);

export function compileZones(
  zones: readonly ZoneInput[],
  defaultRules: Partial<ZoneRules> = {},
): ZoneIndex {
  const compiled: CompiledZone[] = [];
  const rejected: { zoneId: string; problems: ZoneProblem[] }[] = [];
  for (const zone of zones) {
    const blocking = quickBlockingProblems(zone);
    if (blocking.length > 0) {
      rejected.push({ zoneId: zone.id, problems: blocking });
      continue;
    }
    const geometry = compileGeometry(zone.geometry);
    compiled.push({
      id: zone.id,
      kind: zone.kind,
      purpose: zone.purpose ?? 'other',
      alertType: zoneAlertType(zone.kind, zone.purpose),
      geometry,
      schedule: zone.schedule ?? null,
      rules: { ...DEFAULT_ZONE_RULES, ...defaultRules, ...stripUndefined(zone.rules ?? {}) },
      box: geometry.box,
    });
  }
  const tree = compiled.length > 0 ? buildTree(compiled) : null;
  return { zones: compiled, byId: new Map(compiled.map((z) => [z.id, z])), tree, rejected };
}

/**
 * Full validation is O(n log n) and meant for the API; compiling only needs to know the
 * coordinates are finite and the rings non-degenerate, so the cheap checks run here.
 */
function quickBlockingProblems(zone: ZoneInput): ZoneProblem[] {
  const g = zone.geometry;
  if (g.type === 'Circle') return validateZoneGeometry(g).filter((p) => BLOCKING.has(p.code));
  const rings = g.type === 'Polygon' ? g.coordinates : g.coordinates.flat();
  const finite = rings.every(
    (ring) =>
      Array.isArray(ring) &&
      ring.length >= 3 &&
      ring.every(
        (p) =>
          Number.isFinite(p[0]) &&
          Number.isFinite(p[1]) &&
          Math.abs(p[0]) <= 180 &&
          Math.abs(p[1]) <= 90,
      ),
  );
  if (finite && rings.length > 0) return [];
  return validateZoneGeometry(g).filter((p) => BLOCKING.has(p.code));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The zones that apply to one subject, cheap to query per fix. */
export interface SubjectZones {
  readonly index: ZoneIndex;
  /** Inclusion zones are always evaluated: being far outside one is what matters. */
  readonly inclusion: readonly CompiledZone[];
  includes(zoneId: string): boolean;
  /** The schedule in force for this subject (an assignment may override the zone's). */
  scheduleOf(zone: CompiledZone): WeeklySchedule | null;
  /** Does the zone apply at `atMs`: its schedule, the assignment's validity, no suspension. */
  isActive(zone: CompiledZone, atMs: number): boolean;
  /**
   * The ref of the suspension the zone is in at `atMs` when it would otherwise apply (its
   * violations are then authorised, not raised), or null.
   */
  authorisedAt(zone: CompiledZone, atMs: number): string | null;
  /**
   * When the period containing `atMs` in which the zone applies (or applies authorised)
   * ends; null when it does not end.
   */
  activeUntilMs(zone: CompiledZone, atMs: number): number | null;
  /** The subject's exclusion zones whose box meets the given box (candidates only). */
  exclusionIn(minX: number, minY: number, maxX: number, maxY: number): CompiledZone[];
}

/**
 * Up to this many exclusion zones a subject's candidates come from a plain box scan; above
 * it, from an R-tree of the subject's own zones. Either way other subjects' zones near the
 * fix cost nothing, so the per-fix cost does not grow with the zones in the index.
 */
const LINEAR_SCAN_MAX = 32;

/**
 * Binds an index to a subject's assignments (`'all'`: every zone, as in a dry run, served by
 * the index's R-tree). Assignments naming unknown zones are ignored. Cache the result per
 * subject (or per identical assignment list) while assignments and index are unchanged.
 */
export function zonesForSubject(
  index: ZoneIndex,
  assignments: readonly (string | ZoneAssignment)[] | 'all',
): SubjectZones {
  if (assignments === 'all') {
    return {
      index,
      inclusion: index.zones.filter((z) => z.kind === 'inclusion'),
      includes: (zoneId) => index.byId.has(zoneId),
      scheduleOf: (zone) => zone.schedule,
      isActive: (zone, atMs) => isScheduleActive(zone.schedule, atMs),
      authorisedAt: () => null,
      activeUntilMs: (zone, atMs) => activeWindowEndMs(zone.schedule, atMs),
      exclusionIn: (minX, minY, maxX, maxY) =>
        searchTree(index.tree, index.zones, minX, minY, maxX, maxY),
    };
  }
  const overrides = new Map<string, WeeklySchedule | null>();
  const limits = new Map<string, ActivityLimits>();
  const ids = new Set<string>();
  for (const a of assignments) {
    const zoneId = typeof a === 'string' ? a : a.zoneId;
    ids.add(zoneId);
    if (typeof a === 'string') continue;
    if (a.schedule !== undefined) overrides.set(zoneId, a.schedule);
    const bounded =
      a.activeFromMs != null || a.activeToMs != null || (a.suspensions?.length ?? 0) > 0;
    if (bounded) limits.set(zoneId, activityLimits(a));
  }
  const zones = [...ids]
    .map((id) => index.byId.get(id))
    .filter((z): z is CompiledZone => z !== undefined);
  const exclusion = zones.filter((z) => z.kind === 'exclusion');
  const scheduleOf = (zone: CompiledZone) =>
    overrides.has(zone.id) ? (overrides.get(zone.id) ?? null) : zone.schedule;
  return {
    index,
    inclusion: zones.filter((z) => z.kind === 'inclusion'),
    includes: (zoneId) => ids.has(zoneId) && index.byId.has(zoneId),
    scheduleOf,
    isActive: (zone, atMs) => {
      const limit = limits.get(zone.id);
      return (!limit || limit.contains(atMs)) && isScheduleActive(scheduleOf(zone), atMs);
    },
    authorisedAt: (zone, atMs) => {
      const ref = limits.get(zone.id)?.suspendedBy(atMs) ?? null;
      return ref !== null && isScheduleActive(scheduleOf(zone), atMs) ? ref : null;
    },
    activeUntilMs: (zone, atMs) => {
      const scheduleEnd = activeWindowEndMs(scheduleOf(zone), atMs);
      const limitEnd = limits.get(zone.id)?.endAfter(atMs) ?? null;
      if (scheduleEnd === null) return limitEnd;
      return limitEnd === null ? scheduleEnd : Math.min(scheduleEnd, limitEnd);
    },
    exclusionIn: exclusion.length <= LINEAR_SCAN_MAX ? scanBoxes(exclusion) : lazyTree(exclusion),
  };
}

interface ActivityLimits {
  contains(atMs: number): boolean;
  /** Inside the validity and a suspension: the suspension's ref; otherwise null. */
  suspendedBy(atMs: number): string | null;
  /**
   * The first moment after `atMs` at which the zone stops applying as it does at `atMs`
   * (a suspension begins or ends, the validity ends), or null.
   */
  endAfter(atMs: number): number | null;
}

/** An assignment's validity [from, to) minus its suspensions [from, to). */
function activityLimits(a: ZoneAssignment): ActivityLimits {
  const fromMs = a.activeFromMs ?? -Infinity;
  const toMs = a.activeToMs ?? Infinity;
  const suspensions = [...(a.suspensions ?? [])]
    .filter((s) => Number.isFinite(s.fromMs) && Number.isFinite(s.toMs) && s.toMs > s.fromMs)
    .sort((x, y) => x.fromMs - y.fromMs);
  const suspensionAt = (atMs: number) =>
    suspensions.find((s) => atMs >= s.fromMs && atMs < s.toMs) ?? null;
  const valid = (atMs: number) => atMs >= fromMs && atMs < toMs;
  return {
    contains: (atMs) => valid(atMs) && suspensionAt(atMs) === null,
    suspendedBy: (atMs) => {
      const s = valid(atMs) ? suspensionAt(atMs) : null;
      return s === null ? null : (s.ref ?? 'suspension');
    },
    endAfter: (atMs) => {
      const boundary =
        suspensionAt(atMs)?.toMs ?? suspensions.find((s) => s.fromMs > atMs)?.fromMs ?? Infinity;
      const end = Math.min(boundary, toMs);
      return Number.isFinite(end) ? end : null;
    },
  };
}

type BoxQuery = SubjectZones['exclusionIn'];

function scanBoxes(zones: readonly CompiledZone[]): BoxQuery {
  return (minX, minY, maxX, maxY) =>
    zones.filter(
      (z) => z.box.minX <= maxX && z.box.maxX >= minX && z.box.minY <= maxY && z.box.maxY >= minY,
    );
}

/** Built on first use: binding a subject stays cheap when it never needs the tree. */
function lazyTree(zones: readonly CompiledZone[]): BoxQuery {
  let tree: Flatbush | null = null;
  return (minX, minY, maxX, maxY) => {
    tree ??= buildTree(zones);
    return searchTree(tree, zones, minX, minY, maxX, maxY);
  };
}

function buildTree(zones: readonly CompiledZone[]): Flatbush {
  const tree = new Flatbush(zones.length);
  for (const z of zones) tree.add(z.box.minX, z.box.minY, z.box.maxX, z.box.maxY);
  tree.finish();
  return tree;
}

function searchTree(
  tree: Flatbush | null,
  zones: readonly CompiledZone[],
  minX: number,
  minY: number,
  maxX: number,
  maxY: number,
): CompiledZone[] {
  if (!tree) return [];
  const out: CompiledZone[] = [];
  for (const i of tree.search(minX, minY, maxX, maxY)) {
    const zone = zones[i];
    if (zone?.kind === 'exclusion') out.push(zone);
  }
  return out;
}
