import type { Database } from '@ccm/db';
import type { TimeMode } from './clock';
import { DEFAULT_DEMO_SUBJECTS } from './demo-plan';
import { startFleet, type Fleet } from './fleet';
import { silentLogger, type Logger } from './log';
import type { DemoDevice } from './manifest';
import { DeviceMemory } from './memory';
import {
  runScenario,
  SCENARIO_NAMES,
  type ScenarioName,
  type ScenarioRun,
  type ScenarioTiming,
} from './scenarios';
import { seedDemo, type DemoLogin, type SeedDemoResult } from './seed';

/**
 * The demo behind `npm start` with CCM_SIMULATOR on: seeds the Guangxi data set (idempotent),
 * runs a small fleet of wristbands and their offices' check-in terminals against the
 * platform's broker, and now and then plays a scenario on one of them, one at a time, so
 * an officer signing in sees a living district and, every few minutes, an alert to handle.
 */
export interface StartDemoOptions {
  database: Database;
  mqttUrl: string;
  /** The platform's data folder: `demo-devices.json` (device secrets, 0600) goes there. */
  dataDir: string;
  /** The password of every demo account (≥ 12 characters); the caller chooses and prints it. */
  demoPassword: string;
  logger?: Logger;
  /** Wristbands to run (default 20); their offices' terminals run too. */
  fleetSize?: number;
  /** Subjects in the data set (default max(60, fleetSize)). */
  subjects?: number;
  intervalS?: number;
  speed?: number;
  timeMode?: TimeMode;
  /** A scenario every this often (default 10 min; 0: none). */
  scenarioEveryMs?: number;
  /** The first one after this long (default 2 min). */
  firstScenarioAfterMs?: number;
  /** Which scenarios take turns (default all). */
  scenarios?: readonly ScenarioName[];
  /** Scenario timings (how long a strap stays open, a band stays off, …). */
  timing?: Partial<ScenarioTiming>;
}

export interface Demo {
  logins: DemoLogin[];
  seed: SeedDemoResult;
  fleet: Fleet;
  /** The scenarios played so far (most recent last, at most 50 kept). */
  readonly runs: readonly ScenarioRun[];
  /** Plays a scenario now on a fleet device (waits for one running to finish). */
  runScenario(name: ScenarioName, target?: string): Promise<ScenarioRun>;
  stop(): Promise<void>;
}

export async function startDemo(options: StartDemoOptions): Promise<Demo> {
  const log = options.logger ?? silentLogger;
  const fleetSize = Math.max(1, options.fleetSize ?? 20);
  const seed = await seedDemo(options.database.db, {
    dataDir: options.dataDir,
    demoPassword: options.demoPassword,
    subjects: Math.max(options.subjects ?? DEFAULT_DEMO_SUBJECTS, fleetSize),
    logger: log,
  });
  const wristbands = seed.wristbands.slice(0, fleetSize);
  const offices = new Set(wristbands.map((w) => w.officeCode));
  const devices: DemoDevice[] = [
    ...wristbands,
    ...seed.terminals.filter((t) => offices.has(t.officeCode)),
  ];
  const memory = await DeviceMemory.load(options.dataDir);
  const fleet = await startFleet({
    mqttUrl: options.mqttUrl,
    devices,
    memory,
    ...(options.intervalS !== undefined ? { intervalS: options.intervalS } : {}),
    ...(options.speed !== undefined ? { speed: options.speed } : {}),
    ...(options.timeMode !== undefined ? { timeMode: options.timeMode } : {}),
    logger: log,
  });
  log.info(
    { wristbands: wristbands.length, terminals: devices.length - wristbands.length },
    '模拟设备已启动 / simulated devices started',
  );

  const manifest = { ...seed.manifest, wristbands, terminals: seed.manifest.terminals };
  const abort = new AbortController();
  const runs: ScenarioRun[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  const play = (name: ScenarioName, target?: string) => {
    const next = chain.then(async () => {
      const run = await runScenario(name, {
        mqttUrl: options.mqttUrl,
        manifest,
        fleet,
        ...(target ? { target } : {}),
        ...(options.timing ? { timing: options.timing } : {}),
        memory,
        logger: log,
        signal: abort.signal,
      });
      runs.push(run);
      if (runs.length > 50) runs.shift();
      return run;
    });
    chain = next.catch(() => {});
    return next;
  };

  const rotation = [...(options.scenarios ?? SCENARIO_NAMES)];
  const every = options.scenarioEveryMs ?? 10 * 60_000;
  let turn = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number) => {
    if (every <= 0 || rotation.length === 0 || abort.signal.aborted) return;
    timer = setTimeout(async () => {
      // Try the next scenarios in turn until one fits now (curfew_breach waits for the night).
      for (let tries = 0; tries < rotation.length && !abort.signal.aborted; tries++) {
        const name = rotation[turn++ % rotation.length]!;
        try {
          await play(name);
          break;
        } catch (err) {
          if (abort.signal.aborted) return;
          log.info({ scenario: name, reason: String(err) }, '场景暂不可用 / scenario skipped');
        }
      }
      schedule(every);
    }, delayMs);
  };
  schedule(options.firstScenarioAfterMs ?? 2 * 60_000);

  return {
    logins: seed.logins,
    seed,
    fleet,
    runs,
    runScenario: (name, target) => play(name, target),
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await chain;
      for (const run of runs) await run.stop();
      await fleet.stop();
    },
  };
}
