import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '@ccm/db';
import { checkLeaveReturns } from '../leaves/service';
import { missCheckins, randomCheckins, reviewCheckins, scheduleCheckins } from './checkins';
import { expireOrders, orderReminders } from './orders';
import { loadSettings } from './settings';

/**
 * The supervision rules that run on time rather than on a device message: check-in
 * schedules, random requests, missed deadlines, the review of new check-ins, order reminders
 * and expiry, leave returns, outbox pruning, and the monthly assessment (a hook, so the
 * assessment module stays its own). One pass is `runOnce(now)`; every step is idempotent, so
 * a pass may repeat or run on several servers at once without doing anything twice.
 */
export interface SupervisionOptions {
  /** Seconds between passes. */
  intervalS: number;
  /** Randomness of random check-ins (tests pass their own). */
  random?: () => number;
  /** Extra work per pass (the monthly assessment), given the pass time. */
  extraSteps?: readonly { name: string; run: (nowMs: number) => Promise<unknown> }[];
}

export interface PassReport {
  scheduled: number;
  random: number;
  reviewed: number;
  missed: number;
  reminders: number;
  expired: number;
  returns: number;
  pruned: number;
}

/** Outbox rows are for delivery, not history (alerts and alert_events are): a week is plenty. */
const OUTBOX_KEEP_MS = 7 * 86_400_000;

export async function pruneOutbox(db: Kysely<DB>, nowMs: number): Promise<number> {
  const result = await sql`
    DELETE FROM outbox WHERE id IN (
      SELECT id FROM outbox WHERE created_at < ${new Date(nowMs - OUTBOX_KEEP_MS)}
      ORDER BY id LIMIT 10000)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export class SupervisionWorker {
  #timer: NodeJS.Timeout | undefined;
  #lastRunMs: number | null = null;
  #running: Promise<unknown> | null = null;
  #again = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly log: Logger,
    private readonly options: SupervisionOptions,
  ) {}

  /** One pass over every rule. Steps fail alone: one broken step does not stop the others. */
  async runOnce(nowMs = Date.now()): Promise<PassReport> {
    const elapsedMs =
      this.#lastRunMs === null
        ? this.options.intervalS * 1000
        : Math.max(0, nowMs - this.#lastRunMs);
    this.#lastRunMs = nowMs;
    const report: PassReport = {
      scheduled: 0,
      random: 0,
      reviewed: 0,
      missed: 0,
      reminders: 0,
      expired: 0,
      returns: 0,
      pruned: 0,
    };
    const checkins = await loadSettings(this.db, 'checkins');
    const separation = await loadSettings(this.db, 'separation');
    const step = async (name: keyof PassReport, run: () => Promise<number>) => {
      try {
        report[name] = await run();
      } catch (err) {
        this.log.error({ err, step: name }, '监管规则执行失败 / supervision step failed');
      }
    };
    await step('reviewed', () => reviewCheckins(this.db, separation, nowMs));
    await step('scheduled', () => scheduleCheckins(this.db, checkins, nowMs));
    await step('random', () =>
      randomCheckins(this.db, checkins, nowMs, elapsedMs, this.options.random ?? Math.random),
    );
    await step('missed', () => missCheckins(this.db, checkins, nowMs));
    await step('reminders', () => orderReminders(this.db, nowMs));
    await step('expired', () => expireOrders(this.db, nowMs));
    await step('returns', () => checkLeaveReturns(this.db, nowMs));
    await step('pruned', () => pruneOutbox(this.db, nowMs));
    for (const extra of this.options.extraSteps ?? []) {
      try {
        await extra.run(nowMs);
      } catch (err) {
        this.log.error({ err, step: extra.name }, '监管规则执行失败 / supervision step failed');
      }
    }
    return report;
  }

  /** Runs a pass now (or right after the one running): new check-ins are reviewed at once. */
  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.runOnce()
      .catch((err) => this.log.error({ err }, '监管规则执行失败 / supervision pass failed'))
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  start(): void {
    this.kick();
    this.#timer = setInterval(() => this.kick(), this.options.intervalS * 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#again = false;
    await this.#running;
  }
}
