import { z } from 'zod';
import { WeeklySchedule, ZoneGeometry, ZoneKind, ZonePurpose, ZoneRules } from '@ccm/contracts';
import { DEFAULT_ZONE_RULES } from '@ccm/geofence';
import { IsoTime, Uuid } from '../http';

/**
 * Zone shapes on the API. Geometry is GeoJSON in WGS-84 (`[lon, lat]`) or a Circle
 * `{center, radiusM}`; zod checks the shape, then `validateZoneGeometry` checks closure,
 * self-intersections and holes (400 INVALID_GEOMETRY, saying where).
 */
export const JurisdictionCode = z
  .string()
  .regex(/^[0-9]{6}([0-9]{3})?$/, '行政区划代码为 6 或 9 位数字 / a 6- or 9-digit code');

const Name = z.string().trim().min(1).max(200);
const BufferM = ZoneRules.shape.bufferM;
const ConfirmFixes = ZoneRules.shape.confirmFixes;
const ConfirmSeconds = ZoneRules.shape.confirmSeconds;

/** The evaluated part of a zone: what the engine (and the dry run) needs. */
export const ZoneDefinition = z.object({
  kind: ZoneKind,
  purpose: ZonePurpose.default('other'),
  geometry: ZoneGeometry,
  /** Tolerance in the subject's favour beyond each fix's accuracy, metres (default 20). */
  bufferM: BufferM.default(DEFAULT_ZONE_RULES.bufferM),
  /** null: always active. */
  schedule: WeeklySchedule.nullable().default(null),
  /** null or absent: the engine default (3 fixes). */
  confirmFixes: ConfirmFixes.nullable().optional(),
  /** null or absent: the engine default (90 s). */
  confirmSeconds: ConfirmSeconds.nullable().optional(),
});
export type ZoneDefinition = z.infer<typeof ZoneDefinition>;

export const CreateZoneBody = ZoneDefinition.extend({
  name: Name,
  /** In the user's scope; default: the subject's jurisdiction, else the user's own. */
  jurisdictionCode: JurisdictionCode.optional(),
  /** A zone of one subject (a victim's home): applies to that subject without assignment. */
  subjectId: Uuid.nullable().optional(),
});
export type CreateZoneBody = z.infer<typeof CreateZoneBody>;

export const PatchZoneBody = z
  .object({
    name: Name,
    kind: ZoneKind,
    purpose: ZonePurpose,
    geometry: ZoneGeometry,
    bufferM: BufferM,
    schedule: WeeklySchedule.nullable(),
    confirmFixes: ConfirmFixes.nullable(),
    confirmSeconds: ConfirmSeconds.nullable(),
    jurisdictionCode: JurisdictionCode,
    subjectId: Uuid.nullable(),
    /** Optimistic concurrency: when given, the change applies only to this version (else 409). */
    version: z.number().int().min(1),
  })
  .partial()
  .refine((b) => Object.keys(b).some((k) => k !== 'version'), {
    message: '没有要修改的字段 / nothing to change',
  });
export type PatchZoneBody = z.infer<typeof PatchZoneBody>;

const BoolText = z.enum(['true', 'false']).transform((v) => v === 'true');

/** `minLon,minLat,maxLon,maxLat` (WGS-84 degrees). */
export const BboxText = z
  .string()
  .regex(
    /^-?\d+(\.\d+)?,-?\d+(\.\d+)?,-?\d+(\.\d+)?,-?\d+(\.\d+)?$/,
    'bbox 应为 minLon,minLat,maxLon,maxLat / bbox must be minLon,minLat,maxLon,maxLat',
  )
  .transform((text) => text.split(',').map(Number) as [number, number, number, number])
  .refine(
    ([minLon, minLat, maxLon, maxLat]) =>
      minLon >= -180 &&
      maxLon <= 180 &&
      minLat >= -90 &&
      maxLat <= 90 &&
      minLon <= maxLon &&
      minLat <= maxLat,
    'bbox 超出范围或最小值大于最大值 / bbox out of range or min > max',
  );

export const ZoneListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(400).optional(),
  kind: ZoneKind.optional(),
  purpose: ZonePurpose.optional(),
  /** Zones of this one subject (its own zones, `subjectId` set). */
  subjectId: Uuid.optional(),
  /** Zones whose bounding box meets this one. */
  bbox: BboxText.optional(),
  /** Soft-deleted zones too (default: only active ones). */
  includeInactive: BoolText.optional(),
});

export const ZoneView = z.object({
  id: z.string(),
  name: z.string(),
  kind: ZoneKind,
  purpose: ZonePurpose,
  geometry: ZoneGeometry,
  /** [minLon, minLat, maxLon, maxLat] of the geometry, WGS-84. */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  bufferM: z.number(),
  schedule: WeeklySchedule.nullable(),
  confirmFixes: z.number().int().nullable(),
  confirmSeconds: z.number().int().nullable(),
  jurisdictionCode: z.string(),
  subjectId: z.string().nullable(),
  active: z.boolean(),
  version: z.number().int(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ZoneView = z.infer<typeof ZoneView>;

export const SubjectZoneParams = z.object({ id: Uuid, zoneId: Uuid });

export const AssignmentBody = z
  .object({
    /** Replaces the zone's own schedule for this subject; null: always active. */
    scheduleOverride: WeeklySchedule.nullable().optional(),
    validFrom: IsoTime.nullable().optional(),
    validTo: IsoTime.nullable().optional(),
  })
  .refine((b) => !b.validFrom || !b.validTo || new Date(b.validTo) > new Date(b.validFrom), {
    message: 'validTo 须晚于 validFrom / validTo must be after validFrom',
    path: ['validTo'],
  });
export type AssignmentBody = z.infer<typeof AssignmentBody>;

export const SubjectZoneView = z.object({
  subjectId: z.string(),
  zoneId: z.string(),
  /** `assignment`: assigned; `personal`: the zone is the subject's own (applies without one). */
  via: z.enum(['assignment', 'personal']),
  scheduleOverride: WeeklySchedule.nullable(),
  validFrom: z.string().nullable(),
  validTo: z.string().nullable(),
  assignedBy: z.string().nullable(),
  assignedAt: z.string().nullable(),
  zone: ZoneView,
});
export type SubjectZoneView = z.infer<typeof SubjectZoneView>;

export const DryRunBody = z.object({
  subjectId: Uuid,
  /** Days of stored track to replay, ending now. */
  days: z.number().int().min(1).max(30).default(7),
  zone: ZoneDefinition,
});
export type DryRunBody = z.infer<typeof DryRunBody>;

export const DryRunAlert = z.object({
  type: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  /** Whether the live gateway would have raised it late, judged from the fixes' receive times. */
  late: z.boolean(),
  lateByMs: z.number(),
  /** The engine's evidence of the start (fixes with their distance to the edge, or a segment). */
  evidence: z.unknown(),
  endEvidence: z.unknown(),
});

export const DryRunResult = z.object({
  subjectId: z.string(),
  from: z.string(),
  to: z.string(),
  fixesReplayed: z.number().int(),
  /** More fixes than the replay takes: only the most recent ones were replayed. */
  truncated: z.boolean(),
  alerts: z.array(DryRunAlert),
  count: z.number().int(),
});
export type DryRunResult = z.infer<typeof DryRunResult>;
