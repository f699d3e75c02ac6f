import { z } from 'zod';
import { ALERT_SEVERITIES, ALERT_STATUSES, ALERT_TYPES } from '@ccm/contracts';
import type { Alert } from '@ccm/db';
import { iso, isoOrNull } from '../http';

/** How an officer closes an alert (`alerts.resolution`); 'withdrawn' is the engine's own. */
export const RESOLUTIONS = [
  'confirmed_violation',
  'false_alarm',
  'device_fault',
  'authorised',
  'other',
] as const;
export const Resolution = z.enum(RESOLUTIONS);
export type Resolution = z.infer<typeof Resolution>;

/** Tampering with the device (防拆) is never closed without saying what it was. */
export const TAMPER_TYPES: readonly string[] = ['strap_tamper', 'case_tamper'];

export const AlertNoteView = z.object({
  id: z.string(),
  at: z.string(),
  /** 'note', or the change the text came with ('resolved', 'withdrawn'). */
  action: z.string(),
  authorId: z.string().nullable(),
  authorName: z.string().nullable(),
  text: z.string(),
});
export type AlertNoteView = z.infer<typeof AlertNoteView>;

export const AlertHistoryEntry = z.object({
  id: z.string(),
  at: z.string(),
  action: z.string(),
  /** null = the platform (rules engine, escalation). */
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  note: z.string().nullable(),
  data: z.unknown(),
});
export type AlertHistoryEntry = z.infer<typeof AlertHistoryEntry>;

/**
 * The API Alert object: the contract's fields (http-api.md, "Alert object") first, then the
 * workflow state officers need.
 */
export const AlertView = z.object({
  id: z.string(),
  type: z.enum(ALERT_TYPES),
  severity: z.enum(ALERT_SEVERITIES),
  status: z.enum(ALERT_STATUSES),
  subjectId: z.string().nullable(),
  deviceId: z.string().nullable(),
  zoneId: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  raisedAt: z.string(),
  late: z.boolean(),
  lateByMs: z.number(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  notes: z.array(AlertNoteView),
  jurisdictionCode: z.string(),
  evidence: z.unknown(),
  assignedTo: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.string().nullable(),
  escalatedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type AlertView = z.infer<typeof AlertView>;

export const AlertDetailView = AlertView.extend({ history: z.array(AlertHistoryEntry) });

/**
 * Builds the API Alert object from an `alerts` row. Pure, so the live stream can reuse it for
 * the rows it pushes (with `notes` left empty when it has none at hand).
 */
export function alertView(row: Alert, notes: readonly AlertNoteView[] = []): AlertView {
  return {
    id: row.id,
    type: row.type as AlertView['type'],
    severity: row.severity,
    status: row.status,
    subjectId: row.subject_id,
    deviceId: row.device_id,
    zoneId: row.zone_id,
    startedAt: iso(row.started_at),
    endedAt: isoOrNull(row.ended_at),
    raisedAt: iso(row.raised_at),
    late: row.late,
    lateByMs: Number(row.late_by_ms),
    lat: row.lat,
    lon: row.lon,
    notes: [...notes],
    jurisdictionCode: row.jurisdiction_code,
    evidence: row.evidence,
    assignedTo: row.assigned_to,
    acknowledgedAt: isoOrNull(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: isoOrNull(row.resolved_at),
    resolvedBy: row.resolved_by,
    resolution: row.resolution,
    escalatedAt: isoOrNull(row.escalated_at),
    updatedAt: iso(row.updated_at),
  };
}
