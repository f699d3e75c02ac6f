import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listAll, type Query } from './client';
import type {
  Alert,
  AlertDetail,
  Device,
  DeviceCommand,
  DirectoryUser,
  DryRunResult,
  Jurisdiction,
  LatestPosition,
  MonitoringOrder,
  PoliceQueryResult,
  PoliceSubject,
  Resolution,
  Statistics,
  Subject,
  SubjectZone,
  Track,
  Zone,
  ZoneInput,
} from './types';

/** Query keys in one place: live updates and mutations invalidate by these prefixes. */
export const keys = {
  latest: ['positions', 'latest'] as const,
  alerts: (filters?: Query) =>
    filters ? (['alerts', 'list', filters] as const) : (['alerts'] as const),
  alert: (id: string) => ['alerts', 'one', id] as const,
  subjects: ['subjects'] as const,
  subject: (id: string) => ['subjects', id] as const,
  zones: ['zones'] as const,
  subjectZones: (id: string) => ['subjects', id, 'zones'] as const,
  orders: (id: string) => ['subjects', id, 'orders'] as const,
  track: (id: string, from: string, to: string) => ['track', id, from, to] as const,
  devices: ['devices'] as const,
  commands: (id: string) => ['devices', id, 'commands'] as const,
  jurisdictions: ['jurisdictions'] as const,
  users: ['users'] as const,
  statistics: (from: string, to: string) => ['statistics', from, to] as const,
};

export const useLatestPositions = (enabled = true) =>
  useQuery({
    queryKey: keys.latest,
    queryFn: () => listAll<LatestPosition>('/positions/latest', { limit: 5000 }, 50_000),
    enabled,
    // The WebSocket keeps these fresh; a slow poll repairs anything a reconnect missed.
    refetchInterval: 60_000,
  });

export const useAlerts = (filters: Query, enabled = true) =>
  useQuery({
    queryKey: keys.alerts(filters),
    queryFn: () =>
      api<{ items: Alert[]; nextCursor: string | null }>('/alerts', {
        query: { limit: 200, ...filters },
      }),
    enabled,
    refetchInterval: 30_000,
  });

export const useAlert = (id: string | undefined) =>
  useQuery({
    queryKey: keys.alert(id ?? ''),
    queryFn: () => api<AlertDetail>(`/alerts/${id}`),
    enabled: !!id,
  });

export const useSubjects = (enabled = true) =>
  useQuery({
    queryKey: keys.subjects,
    queryFn: () => listAll<Subject>('/subjects'),
    enabled,
    staleTime: 60_000,
  });

export const useSubject = (id: string) =>
  useQuery({ queryKey: keys.subject(id), queryFn: () => api<Subject>(`/subjects/${id}`) });

export const useZones = (enabled = true) =>
  useQuery({
    queryKey: keys.zones,
    queryFn: () => listAll<Zone>('/zones'),
    enabled,
    staleTime: 60_000,
  });

export const useSubjectZones = (id: string) =>
  useQuery({
    queryKey: keys.subjectZones(id),
    queryFn: () => listAll<SubjectZone>(`/subjects/${id}/zones`),
  });

export const useOrders = (id: string) =>
  useQuery({
    queryKey: keys.orders(id),
    queryFn: () => listAll<MonitoringOrder>(`/subjects/${id}/monitoring-orders`),
  });

export const useTrack = (id: string, from: string, to: string, enabled: boolean) =>
  useQuery({
    queryKey: keys.track(id, from, to),
    queryFn: () =>
      api<Track>(`/subjects/${id}/positions`, { query: { from, to, maxPoints: 5000 } }),
    enabled,
  });

export const useDevices = () =>
  useQuery({
    queryKey: keys.devices,
    queryFn: () => listAll<Device>('/devices'),
    refetchInterval: 30_000,
  });

export const useDeviceCommands = (id: string | undefined) =>
  useQuery({
    queryKey: keys.commands(id ?? ''),
    queryFn: () =>
      api<{ items: DeviceCommand[] }>(`/devices/${id}/commands`, { query: { limit: 10 } }),
    enabled: !!id,
    refetchInterval: 5000,
  });

export const useJurisdictions = (enabled = true) =>
  useQuery({
    queryKey: keys.jurisdictions,
    queryFn: () => listAll<Jurisdiction>('/jurisdictions'),
    enabled,
    staleTime: 10 * 60_000,
  });

/** Officers and bureau users an alert can be assigned to (only those who may list users). */
export const useAssignableUsers = (enabled: boolean) =>
  useQuery({
    queryKey: keys.users,
    queryFn: async () =>
      (await listAll<DirectoryUser>('/users', { disabled: 'false' })).filter(
        (u) => u.role === 'officer' || u.role === 'bureau',
      ),
    enabled,
    staleTime: 5 * 60_000,
    retry: false,
  });

export const useStatistics = (from: string, to: string) =>
  useQuery({
    queryKey: keys.statistics(from, to),
    queryFn: () => api<Statistics>('/statistics/alerts', { query: { from, to } }),
  });

export const usePoliceSubjects = (q: string) =>
  useQuery({
    queryKey: ['police', 'subjects', q],
    queryFn: () => api<{ items: PoliceSubject[] }>('/police/subjects', { query: { q, limit: 50 } }),
  });

/** Alert actions: each answers the updated alert, which goes straight into the cache. */
export function useAlertAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (a: {
      id: string;
      action: 'acknowledge' | 'assign' | 'notes' | 'resolve';
      body?: { userId?: string; text?: string; note?: string; resolution?: Resolution };
    }) => api<Alert>(`/alerts/${a.id}/${a.action}`, { method: 'POST', body: a.body ?? {} }),
    onSuccess: async (_alert, a) => {
      await qc.invalidateQueries({ queryKey: keys.alerts() });
      await qc.invalidateQueries({ queryKey: keys.alert(a.id) });
      await qc.invalidateQueries({ queryKey: keys.latest });
    },
  });
}

export function useSaveZone() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (z: { id?: string; version?: number; input: ZoneInput }) =>
      z.id
        ? api<Zone>(`/zones/${z.id}`, { method: 'PATCH', body: { ...z.input, version: z.version } })
        : api<Zone>('/zones', { method: 'POST', body: z.input }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.zones }),
  });
}

export function useDeleteZone() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>(`/zones/${id}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.zones }),
  });
}

export const useDryRun = () =>
  useMutation({
    mutationFn: (body: { subjectId: string; days: number; zone: Omit<ZoneInput, 'name'> }) =>
      api<DryRunResult>('/zones/dry-run', { method: 'POST', body }),
  });

export function useSendCommand() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (c: { deviceId: string; type: 'warn' | 'locate' }) =>
      api<DeviceCommand>(`/devices/${c.deviceId}/commands`, {
        method: 'POST',
        body: { type: c.type },
      }),
    onSuccess: (_r, c) => qc.invalidateQueries({ queryKey: keys.commands(c.deviceId) }),
  });
}

export const usePoliceQuery = () =>
  useMutation({
    mutationFn: (body: {
      subjectId: string;
      from: string;
      to: string;
      legalBasis: string;
      caseNumber: string;
    }) => api<PoliceQueryResult>('/police/position-queries', { method: 'POST', body }),
  });
