import type { QueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { keys } from '../api/queries';
import { supervisionKeys } from '../api/supervision';
import type { Alert, LatestPosition } from '../api/types';

// Messages of GET /api/v1/stream, parsed at the boundary (server/src/stream).
const PositionMessage = z.object({
  type: z.literal('position'),
  subjectId: z.string(),
  deviceId: z.string(),
  t: z.string(),
  lat: z.number(),
  lon: z.number(),
  accuracyM: z.number().nullable(),
  source: z.enum(['gnss', 'lbs', 'wifi']).nullable(),
  battery: z.number().nullable(),
  online: z.boolean(),
});
const AlertMessage = z.object({
  type: z.enum(['alert', 'alert_update']),
  alert: z.object({ id: z.string(), type: z.string(), severity: z.string() }).passthrough(),
});
const Message = z.discriminatedUnion('type', [
  PositionMessage,
  AlertMessage,
  z.object({ type: z.literal('ready') }).passthrough(),
  // New notices for this user (reminders, leave decisions …): fetch them.
  z.object({ type: z.literal('notification') }).passthrough(),
]);
export type PositionUpdate = z.infer<typeof PositionMessage>;

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LiveStreamOptions {
  token: string;
  queryClient: QueryClient;
  /** A new alert arrived (not updates of known ones). */
  onAlert?: (alert: Alert) => void;
  onStatus?: (status: StreamStatus) => void;
  /** How often batched positions reach React state, ms. */
  flushMs?: number;
}

/**
 * The live stream: positions are batched per subject (the newest wins) and merged into the
 * latest-positions query once per `flushMs`, so a thousand devices cost one render a second;
 * alerts invalidate the alert lists at once. Reconnects with backoff until stopped.
 */
export class LiveStream {
  #socket: WebSocket | null = null;
  #pending = new Map<string, PositionUpdate>();
  #flushTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #stopped = false;

  constructor(readonly options: LiveStreamOptions) {}

  start() {
    this.#flushTimer = setInterval(() => this.flush(), this.options.flushMs ?? 1000);
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    clearInterval(this.#flushTimer);
    clearTimeout(this.#retryTimer);
    this.#socket?.close();
    this.options.onStatus?.('closed');
  }

  #connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/v1/stream?token=${encodeURIComponent(this.options.token)}`;
    this.options.onStatus?.(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.onmessage = (event) => this.#receive(String(event.data));
    socket.onclose = (event) => {
      if (this.#stopped) return;
      // 4401/4403: the session is gone or the role may not subscribe: do not hammer.
      if (event.code === 4401 || event.code === 4403) {
        this.options.onStatus?.('closed');
        return;
      }
      this.options.onStatus?.('reconnecting');
      const delay = Math.min(30_000, 1000 * 2 ** this.#attempt++);
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
    };
  }

  #receive(text: string) {
    let parsed;
    try {
      parsed = Message.safeParse(JSON.parse(text));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.type === 'ready') {
      this.#attempt = 0;
      this.options.onStatus?.('live');
      // Anything missed while disconnected: fetch once.
      void this.options.queryClient.invalidateQueries({ queryKey: keys.latest });
      void this.options.queryClient.invalidateQueries({ queryKey: supervisionKeys.notifications });
    } else if (m.type === 'notification') {
      void this.options.queryClient.invalidateQueries({ queryKey: supervisionKeys.notifications });
    } else if (m.type === 'position') {
      const prev = this.#pending.get(m.subjectId);
      if (!prev || prev.t <= m.t) this.#pending.set(m.subjectId, m);
    } else {
      const qc = this.options.queryClient;
      void qc.invalidateQueries({ queryKey: keys.alerts() });
      void qc.invalidateQueries({ queryKey: keys.latest });
      if (m.type === 'alert') this.options.onAlert?.(m.alert as unknown as Alert);
    }
  }

  /** Merges the batched positions into the cached latest positions. */
  flush() {
    if (this.#pending.size === 0) return;
    const updates = this.#pending;
    this.#pending = new Map();
    this.options.queryClient.setQueryData<LatestPosition[]>(keys.latest, (old) =>
      mergePositions(old ?? [], updates),
    );
  }
}

/** Latest positions with the updates applied: newer fixes replace, unknown subjects are added. */
export function mergePositions(
  old: readonly LatestPosition[],
  updates: ReadonlyMap<string, PositionUpdate>,
): LatestPosition[] {
  const seen = new Set<string>();
  const next = old.map((p) => {
    const u = updates.get(p.subjectId);
    if (!u) return p;
    seen.add(p.subjectId);
    if (u.t < p.t) return p;
    return {
      ...p,
      deviceId: u.deviceId,
      t: u.t,
      lat: u.lat,
      lon: u.lon,
      accuracyM: u.accuracyM,
      source: u.source,
      battery: u.battery,
      online: u.online,
    };
  });
  for (const [id, u] of updates) {
    if (seen.has(id) || old.some((p) => p.subjectId === id)) continue;
    next.push({
      subjectId: id,
      subjectName: '',
      deviceId: u.deviceId,
      t: u.t,
      lat: u.lat,
      lon: u.lon,
      accuracyM: u.accuracyM,
      source: u.source,
      battery: u.battery,
      online: u.online,
      openAlerts: 0,
    });
  }
  return next;
}

/** A short two-tone alarm from Web Audio (no sound file to ship). */
export function playAlarm() {
  try {
    const Ctx = window.AudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    const gain = ctx.createGain();
    gain.gain.value = 0.15;
    gain.connect(ctx.destination);
    [880, 660, 880].forEach((hz, i) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = hz;
      osc.connect(gain);
      osc.start(ctx.currentTime + i * 0.25);
      osc.stop(ctx.currentTime + i * 0.25 + 0.2);
    });
    setTimeout(() => void ctx.close(), 1500);
  } catch {
    // No audio device (a wall screen without speakers): the visual alert stands.
  }
}
