import { CommandMessage, type CheckinMessage } from '@ccm/contracts';
import { localDayNumber, type SimClock } from './clock';
import type { DeviceClient } from './device-client';
import type { Logger } from './log';
import type { DemoTerminal } from './manifest';
import { Rng, seedOf } from './random';
import { checkinTimeOn } from './routine';
import type { SimWristband } from './wristband';

/**
 * A check-in terminal (信息化核查终端) at a justice office: fingerprint, face and voiceprint
 * readers. It reports the verifier's result only (contract: no template, image or audio
 * ever travels), a heartbeat now and then, and each weekly check-in of the subjects whose
 * wristbands run in the same fleet, at the moment their routine brings them to the office.
 */
export class SimTerminal {
  readonly kind = 'terminal' as const;
  readonly id: string;
  readonly subjects: SimWristband[] = [];
  readonly counters = { checkins: 0, messages: 0, commands: 0 };
  #nextHbMs: number | null = null;
  #day = -1;
  #agenda: { t: number; subject: SimWristband }[] = [];
  #lastMs = -Infinity;
  #handled: string[] = [];
  readonly #rng: Rng;

  constructor(
    readonly spec: DemoTerminal,
    readonly client: DeviceClient,
    readonly options: { clock: SimClock; heartbeatS: number; logger: Logger },
  ) {
    this.id = spec.deviceId;
    this.#rng = new Rng(seedOf('terminal', spec.deviceId));
    client.setCommandHandler((command) => this.onCommand(command));
  }

  start(nowMs: number): void {
    this.#nextHbMs = nowMs + Math.floor(this.#rng.range(0, this.options.heartbeatS * 1000));
    this.#lastMs = nowMs;
  }

  nextDueMs(): number | null {
    if (this.#nextHbMs === null) return null;
    const next = this.#agenda.find((a) => a.t > this.#lastMs)?.t ?? Infinity;
    return Math.min(this.#nextHbMs, next);
  }

  advance(nowMs: number): void {
    this.client.tick(this.options.clock.realNow());
    if (this.#nextHbMs === null) return;
    const day = localDayNumber(nowMs);
    if (day !== this.#day) {
      this.#day = day;
      this.#agenda = this.subjects
        .map((subject) => ({
          t: checkinTimeOn(subject.spec, nowMs, this.options.clock.routineSpeed),
          subject,
        }))
        .filter((a): a is { t: number; subject: SimWristband } => a.t !== null)
        .sort((a, b) => a.t - b.t);
    }
    for (const a of this.#agenda) {
      if (a.t > this.#lastMs && a.t <= nowMs && !a.subject.held)
        this.checkin(a.subject.spec.subjectId, a.t);
    }
    while (this.#nextHbMs <= nowMs) {
      this.counters.messages++;
      this.client.sendHeartbeat({ t: this.#nextHbMs, rssi: -65, fw: '2.1.0' });
      this.#nextHbMs += this.options.heartbeatS * 1000;
    }
    this.#lastMs = nowMs;
  }

  /** One check-in result; by default a genuine fingerprint or face match. */
  checkin(
    subjectId: string,
    t: number,
    result: Partial<Omit<CheckinMessage, 'seq' | 't' | 'subjectId'>> = {},
  ): number {
    const method = result.method ?? (this.#rng.chance(0.6) ? 'fingerprint' : 'face');
    this.counters.checkins++;
    this.counters.messages++;
    return this.client.sendCheckin({
      t: Math.round(t),
      subjectId,
      method,
      result: result.result ?? 'match',
      score: result.score ?? Math.round(this.#rng.range(0.86, 0.99) * 100) / 100,
      liveness: result.liveness ?? true,
      lat: this.spec.at[1],
      lon: this.spec.at[0],
    });
  }

  onCommand(raw: unknown): void {
    const parsed = CommandMessage.safeParse(raw);
    if (!parsed.success) return;
    const command = parsed.data;
    if (this.#handled.includes(command.id) || command.expires < this.options.clock.realNow())
      return;
    this.#handled.push(command.id);
    if (this.#handled.length > 8) this.#handled.shift();
    this.counters.commands++;
    // A terminal shows a check-in request or a warning on its screen; it cannot move.
    const status =
      command.type === 'checkin_request' || command.type === 'warn' ? 'done' : 'rejected';
    this.client.sendCommandResult(command.id, status);
  }
}
