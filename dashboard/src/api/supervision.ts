import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, getToken, withQuery, type Query } from './client';
import type { ManagementLevel } from './types';

/** 监管业务 (#9): check-ins, leave, assessments, activities, reports and notifications. */

export const LEAVE_STATUSES = ['pending', 'approved', 'rejected', 'cancelled'] as const;
export type LeaveStatus = (typeof LEAVE_STATUSES)[number];

export interface CircleGeometry {
  type: 'Circle';
  center: [number, number];
  radiusM: number;
}

export interface Leave {
  id: string;
  subjectId: string;
  subjectName: string;
  jurisdictionCode: string;
  destination: string;
  destinationGeometry: unknown;
  reason: string;
  startsAt: string;
  endsAt: string;
  days: number;
  travelHours: number;
  approvalLevel: 'township' | 'county';
  status: LeaveStatus;
  requestedBy: string | null;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  zoneId: string | null;
  returnStatus: 'returned' | 'not_returned' | null;
  returnCheckedAt: string | null;
  returnAlertId: string | null;
}

export interface LeaveInput {
  destination: string;
  destinationGeometry: CircleGeometry;
  reason: string;
  startsAt: string;
  endsAt: string;
  travelHours: number;
}

export const SANCTIONS = ['none', 'admonition', 'warning', 'revocation_request'] as const;
export type Sanction = (typeof SANCTIONS)[number];
export const LEVELS: readonly ManagementLevel[] = ['strict', 'normal', 'lenient'];
export type AssessmentStatus = 'recommended' | 'confirmed' | 'overridden';

export interface Reason {
  code: string;
  zh: string;
  en: string;
  points?: number;
}

export interface AssessmentFacts {
  month: string;
  period: { from: string; to: string; partial: boolean };
  violations: { counted: number; excluded: number; points: number };
  checkins: { met: number; missed: number; rate: number; points: number };
  separations: { count: number; points: number };
  hours: {
    education: number;
    communityService: number;
    educationRequired: number;
    communityServiceRequired: number;
    points: number;
  };
  score: { base: number; deductions: number; final: number };
  sanction: { recommended: Sanction; grounds: string[] };
  reasons: Reason[];
}

export interface AssessmentEvent {
  id: number;
  at: string;
  action: 'computed' | 'recomputed' | 'confirmed' | 'overridden';
  actorId: string | null;
  actorName: string | null;
  data: unknown;
}

export interface Assessment {
  id: string;
  subjectId: string;
  subjectName: string;
  jurisdictionCode: string;
  month: string;
  score: number;
  recommendedLevel: ManagementLevel;
  recommendedSanction: Sanction;
  status: AssessmentStatus;
  finalLevel: ManagementLevel | null;
  finalSanction: Sanction | null;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  computedAt: string;
  currentLevel: ManagementLevel;
  facts: AssessmentFacts;
  events: AssessmentEvent[];
}

export interface ComputeSummary {
  month: string;
  partial: boolean;
  subjects: number;
  computed: number;
  recomputed: number;
  unchanged: number;
  decided: number;
}

export type ActivityKind = 'education' | 'community_service';
export interface Activity {
  id: string;
  subjectId: string;
  kind: ActivityKind;
  occurredOn: string;
  hours: number;
  note: string;
  recordedBy: string | null;
  createdAt: string;
  /** Voided (entered wrongly): kept on record, no longer counted. */
  voided: { at: string; by: string | null; reason: string } | null;
}

export type CheckinMethod = 'fingerprint' | 'voiceprint' | 'face';
export interface SupervisedCheckin {
  deviceId: string;
  t: string;
  receivedAt: string;
  method: CheckinMethod;
  result: 'match' | 'no_match' | 'spoof_suspected';
  score: number;
  liveness: boolean | null;
  lat: number | null;
  lon: number | null;
  review: {
    outcome: 'ok' | 'failed' | 'separation' | 'unknown_subject';
    requestId: string | null;
    distanceM: number | null;
    alertId: string | null;
    reviewedAt: string;
  } | null;
}

export interface CheckinRequest {
  id: string;
  kind: 'scheduled' | 'random' | 'manual';
  method: CheckinMethod | null;
  windowStart: string;
  dueAt: string;
  status: 'pending' | 'met' | 'missed' | 'cancelled';
  deviceId: string | null;
  commandId: string | null;
  metAt: string | null;
  alertId: string | null;
  requestedBy: string | null;
  note: string;
}

export interface CheckinStats {
  from: string;
  to: string;
  requests: {
    owed: number;
    met: number;
    missed: number;
    pending: number;
    cancelled: number;
    rate: number | null;
  };
  checkins: {
    total: number;
    match: number;
    noMatch: number;
    spoofSuspected: number;
    separations: number;
  };
}

export interface Notification {
  id: string;
  kind: string;
  title: string;
  body: string;
  subjectId: string | null;
  refId: string | null;
  createdAt: string;
  readAt: string | null;
}

interface AlertCounts {
  total: number;
  open: number;
  acknowledged: number;
  resolved: number;
  byResolution: Record<string, number>;
}
export interface ReportMetrics {
  subjects: {
    total: number;
    byLevel: Record<ManagementLevel, number>;
    byStatus: Record<'active' | 'absconded' | 'suspended' | 'ended', number>;
  };
  alerts: AlertCounts & { byType: Record<string, AlertCounts> };
  checkins: {
    met: number;
    missed: number;
    cancelled: number;
    pending: number;
    rate: number | null;
  };
  orders: { started: number; extended: number; ended: number; expired: number };
  sanctions: { total: number; admonition: number; warning: number; revocation_request: number };
  leave: { approved: number; returned: number; notReturned: number };
}
interface JurisdictionRef {
  code: string;
  nameZh: string;
  nameEn: string;
}
export interface MonthlyReport {
  month: string;
  jurisdiction: JurisdictionRef & { level: string };
  period: { from: string; to: string };
  generatedAt: string;
  rows: (JurisdictionRef & { metrics: ReportMetrics })[];
  total: ReportMetrics;
}

interface Label {
  zh: string;
  en: string;
}
export interface OrderReportRow {
  orderId: string;
  subjectId: string;
  subjectName: string;
  idCardNo: string;
  jurisdictionCode: string;
  jurisdictionName: string;
  deviceId: string;
  legalGround: string;
  legalGroundLabel: Label;
  decisionNo: string;
  approverName: string;
  approvedAt: string;
  startsAt: string;
  initialEndsAt: string;
  endsAt: string;
  extensions: { previousEndsAt: string; newEndsAt: string; decidedAt: string | null }[];
  status: 'pending' | 'active' | 'ended' | 'expired';
  statusLabel: Label;
  endedAt: string | null;
  endReason: string | null;
  daysUsed: number;
}
export interface OrderReport {
  jurisdiction: JurisdictionRef;
  from: string;
  to: string;
  generatedAt: string;
  idCardMasked: boolean;
  items: OrderReportRow[];
}

/** Leave up to 7 days: the office (司法所); longer: the county bureau; at most 30 days. */
export const TOWNSHIP_MAX_DAYS = 7;
export const MAX_LEAVE_DAYS = 30;
export function leaveDays(startsAt: string, endsAt: string): number {
  return Math.ceil((Date.parse(endsAt) - Date.parse(startsAt)) / 86_400_000);
}

export const supervisionKeys = {
  leaves: (filters?: Query) =>
    filters ? (['leaves', 'list', filters] as const) : (['leaves'] as const),
  assessments: (filters?: Query) =>
    filters ? (['assessments', 'list', filters] as const) : (['assessments'] as const),
  assessment: (id: string) => ['assessments', 'one', id] as const,
  subject: (id: string) => ['subjects', id, 'supervision'] as const,
  notifications: ['notifications'] as const,
  monthly: (month: string, jurisdiction?: string) =>
    ['reports', 'monthly', month, jurisdiction ?? ''] as const,
  orderRegister: (from: string, to: string, jurisdiction?: string) =>
    ['reports', 'orders', from, to, jurisdiction ?? ''] as const,
};

// ---- leave ------------------------------------------------------------------------------

export const useLeaves = (filters: Query, enabled = true) =>
  useQuery({
    queryKey: supervisionKeys.leaves(filters),
    queryFn: () => api<{ items: Leave[] }>('/leaves', { query: { limit: 200, ...filters } }),
    enabled,
  });

export function useCreateLeave() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (a: { subjectId: string; input: LeaveInput }) =>
      api<Leave>(`/subjects/${a.subjectId}/leaves`, { method: 'POST', body: a.input }),
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.leaves() }),
  });
}

export function useLeaveAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (a: { id: string; action: 'approve' | 'reject' | 'cancel'; note?: string }) =>
      api<Leave>(`/leaves/${a.id}/${a.action}`, {
        method: 'POST',
        body: a.note ? { note: a.note } : {},
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.leaves() }),
  });
}

// ---- assessments ------------------------------------------------------------------------

export const useAssessments = (filters: Query) =>
  useQuery({
    queryKey: supervisionKeys.assessments(filters),
    queryFn: () =>
      api<{ items: Assessment[]; nextCursor: string | null }>('/assessments', {
        query: { limit: 500, ...filters },
      }),
  });

export const useAssessment = (id: string | undefined) =>
  useQuery({
    queryKey: supervisionKeys.assessment(id ?? ''),
    queryFn: () => api<Assessment>(`/assessments/${id}`),
    enabled: !!id,
  });

export const useSubjectAssessments = (subjectId: string) =>
  useQuery({
    queryKey: [...supervisionKeys.subject(subjectId), 'assessments'],
    queryFn: () => api<{ items: Assessment[] }>(`/subjects/${subjectId}/assessments`),
  });

export function useAssessmentDecision() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (
      a:
        | { id: string; kind: 'confirm'; note?: string }
        | {
            id: string;
            kind: 'override';
            level: ManagementLevel;
            sanction: Sanction;
            reason: string;
          },
    ) =>
      a.kind === 'confirm'
        ? api<Assessment>(`/assessments/${a.id}/confirm`, {
            method: 'POST',
            body: a.note ? { note: a.note } : {},
          })
        : api<Assessment>(`/assessments/${a.id}/override`, {
            method: 'POST',
            body: { level: a.level, sanction: a.sanction, reason: a.reason },
          }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: supervisionKeys.assessments() });
      await qc.invalidateQueries({ queryKey: ['subjects'] });
    },
  });
}

export function useComputeAssessments() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { month: string; jurisdiction?: string }) =>
      api<ComputeSummary>('/assessments/compute', { method: 'POST', body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.assessments() }),
  });
}

// ---- a subject's check-ins and activities ------------------------------------------------

/** The newest 100 of the last 90 days (the server's default window), with their reviews. */
export const useSubjectCheckins = (subjectId: string) =>
  useQuery({
    queryKey: [...supervisionKeys.subject(subjectId), 'checkins'],
    queryFn: () =>
      api<{ items: SupervisedCheckin[] }>(`/subjects/${subjectId}/checkins`, {
        query: { limit: 100 },
      }),
  });

export const useCheckinRequests = (subjectId: string) =>
  useQuery({
    queryKey: [...supervisionKeys.subject(subjectId), 'checkin-requests'],
    queryFn: () =>
      api<{ items: CheckinRequest[] }>(`/subjects/${subjectId}/checkin-requests`, {
        query: { limit: 100 },
      }),
  });

export const useCheckinStats = (subjectId: string) =>
  useQuery({
    queryKey: [...supervisionKeys.subject(subjectId), 'checkin-stats'],
    queryFn: () => api<CheckinStats>(`/subjects/${subjectId}/checkin-stats`),
  });

export function useRequestCheckin(subjectId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { method?: CheckinMethod; deadlineMinutes?: number; note?: string }) =>
      api<CheckinRequest>(`/subjects/${subjectId}/checkin-requests`, { method: 'POST', body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.subject(subjectId) }),
  });
}

export const useActivities = (subjectId: string) =>
  useQuery({
    queryKey: [...supervisionKeys.subject(subjectId), 'activities'],
    queryFn: () =>
      api<{ items: Activity[]; nextCursor: string | null }>(`/subjects/${subjectId}/activities`, {
        query: { limit: 100 },
      }),
  });

export function useRecordActivity(subjectId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { kind: ActivityKind; occurredOn: string; hours: number; note?: string }) =>
      api<Activity>(`/subjects/${subjectId}/activities`, { method: 'POST', body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.subject(subjectId) }),
  });
}

/** Voids a record entered wrongly, with the reason (refused once its month is settled). */
export function useVoidActivity(subjectId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, reason }: { id: string; reason: string }) =>
      api<Activity>(`/activities/${id}/void`, { method: 'POST', body: { reason } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.subject(subjectId) }),
  });
}

// ---- notifications ----------------------------------------------------------------------

export const useNotifications = () =>
  useQuery({
    queryKey: supervisionKeys.notifications,
    queryFn: () =>
      api<{ items: Notification[]; unread: number }>('/notifications', { query: { limit: 30 } }),
    // New notices arrive over the live stream; this only covers a stream that is down.
    refetchInterval: 5 * 60_000,
  });

export function useMarkRead() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (id: string | 'all') => {
      if (id === 'all') await api('/notifications/read-all', { method: 'POST', body: {} });
      else await api(`/notifications/${id}/read`, { method: 'POST', body: {} });
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: supervisionKeys.notifications }),
  });
}

// ---- reports ----------------------------------------------------------------------------

export const useMonthlyReport = (month: string, jurisdiction?: string) =>
  useQuery({
    queryKey: supervisionKeys.monthly(month, jurisdiction),
    queryFn: () =>
      api<MonthlyReport>('/reports/monthly', { query: { month, jurisdiction, format: 'json' } }),
    enabled: !!month,
  });

export const useOrderRegister = (from: string, to: string, jurisdiction?: string) =>
  useQuery({
    queryKey: supervisionKeys.orderRegister(from, to, jurisdiction),
    queryFn: () =>
      api<OrderReport>('/reports/monitoring-orders', {
        query: { from, to, jurisdiction, format: 'json' },
      }),
    enabled: !!from && !!to,
  });

/**
 * Fetches a report file with the user's bearer token (a plain link cannot carry it) and either
 * saves it under `filename` or opens it in a new tab, through a blob URL.
 */
export async function openReportFile(path: string, query: Query, filename?: string): Promise<void> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(withQuery(`/api/v1${path}`, query), { headers });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  if (filename) {
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
  } else {
    window.open(url, '_blank', 'noopener');
  }
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
