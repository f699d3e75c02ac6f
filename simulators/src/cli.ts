import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { openPostgres } from '@ccm/db';
import { startFleet, type Fleet } from './fleet';
import { consoleLogger } from './log';
import { loadManifest, manifestPath, type DemoDevice, type DemoManifest } from './manifest';
import { DeviceMemory } from './memory';
import {
  SCENARIOS,
  SCENARIO_NAMES,
  runScenario,
  type ScenarioName,
  type ScenarioRun,
} from './scenarios';
import { seedDemo } from './seed';

/**
 * `node --import tsx simulators/src/cli.ts --help`: seed the demo data set, run a fleet,
 * play scenarios. See simulators/README.md.
 */
const HELP = `CCM 设备模拟器 / device simulators

  --list                     列出场景 / list the scenarios and what each should raise
  --mqtt-url URL             broker (default $MQTT_URL or mqtt://127.0.0.1:1883)
  --database-url URL         seed the demo data set here first (default $DATABASE_URL);
                             without it the devices come from --data-dir
  --data-dir DIR             where demo-devices.json lives (default $CCM_DATA_DIR or ./data)
  --demo-password PW         password of the demo accounts when seeding
                             (default $CCM_DEMO_PASSWORD; generated and printed if unset)
  --subjects N               subjects in the data set when seeding (default max(60, fleet))
  --fleet N                  run N wristbands and their offices' terminals (default 20)
  --interval S               reporting interval, seconds (default 60)
  --heartbeat S              heartbeat interval, seconds (default 300)
  --speed X                  routine speed (default 1)
  --time-mode MODE           compress (default) or backfill
  --backfill-minutes M       backfill: how far back the device clock starts (default 20)
  --scenario NAME            play a scenario: on a fleet device with --fleet, else on its own
  --target DEVICE_ID         the wristband for --scenario (default: the first that fits)
  --every MINUTES            with --fleet: a scenario (all in turn, or --scenario) this often
  --link lite|mqtt.js        MQTT client per device (default lite)
  --local-addresses A,B      spread connections over these source addresses
  --connect-rate N           new connections per second (default 500)
  --no-gaps                  no coverage gaps in the routine
  --help
`;

const Args = z.object({
  list: z.boolean().default(false),
  help: z.boolean().default(false),
  'mqtt-url': z
    .string()
    .url()
    .default(process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883'),
  'database-url': z.string().url().optional(),
  'data-dir': z
    .string()
    .min(1)
    .default(process.env.CCM_DATA_DIR ?? './data'),
  'demo-password': z.string().min(12, 'at least 12 characters').optional(),
  subjects: z.coerce.number().int().min(1).max(200_000).optional(),
  fleet: z.coerce.number().int().min(1).max(100_000).optional(),
  interval: z.coerce.number().int().min(5).max(3600).default(60),
  heartbeat: z.coerce.number().int().min(5).max(86_400).default(300),
  speed: z.coerce.number().positive().max(1000).default(1),
  'time-mode': z.enum(['compress', 'backfill']).default('compress'),
  'backfill-minutes': z.coerce
    .number()
    .positive()
    .max(7 * 24 * 60)
    .default(20),
  scenario: z.enum(SCENARIO_NAMES).optional(),
  target: z.string().optional(),
  every: z.coerce.number().positive().optional(),
  link: z.enum(['lite', 'mqtt.js']).default('lite'),
  'local-addresses': z.string().optional(),
  'connect-rate': z.coerce.number().int().min(1).max(100_000).default(500),
  'no-gaps': z.boolean().default(false),
});

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      list: { type: 'boolean' },
      help: { type: 'boolean' },
      'mqtt-url': { type: 'string' },
      'database-url': { type: 'string' },
      'data-dir': { type: 'string' },
      'demo-password': { type: 'string' },
      subjects: { type: 'string' },
      fleet: { type: 'string' },
      interval: { type: 'string' },
      heartbeat: { type: 'string' },
      speed: { type: 'string' },
      'time-mode': { type: 'string' },
      'backfill-minutes': { type: 'string' },
      scenario: { type: 'string' },
      target: { type: 'string' },
      every: { type: 'string' },
      link: { type: 'string' },
      'local-addresses': { type: 'string' },
      'connect-rate': { type: 'string' },
      'no-gaps': { type: 'boolean' },
    },
    strict: true,
  });
  const parsed = Args.safeParse({
    ...values,
    // An empty variable is unset.
    'database-url': values['database-url'] ?? (process.env.DATABASE_URL || undefined),
    'demo-password': values['demo-password'] ?? (process.env.CCM_DEMO_PASSWORD || undefined),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      process.stderr.write(`--${issue.path.join('.')}: ${issue.message}\n`);
    }
    return 64;
  }
  const args = parsed.data;
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.list) {
    for (const s of SCENARIOS) {
      process.stdout.write(`${s.name}\n  ${s.zh}\n  ${s.en}\n  → ${s.expect}\n\n`);
    }
    return 0;
  }
  const log = consoleLogger();
  const fleetSize = args.fleet ?? (args.scenario ? 0 : 20);

  // The devices: seeded now, or from the data folder.
  let manifest: DemoManifest;
  if (args['database-url']) {
    const generated = args['demo-password'] === undefined;
    const demoPassword = args['demo-password'] ?? randomBytes(12).toString('base64url');
    const database = openPostgres({ url: args['database-url'], poolSize: 2 });
    try {
      const seed = await seedDemo(database.db, {
        dataDir: args['data-dir'],
        demoPassword,
        subjects: Math.max(args.subjects ?? 60, fleetSize),
        logger: log,
      });
      manifest = seed.manifest;
      process.stdout.write('\n演示账号 / demo accounts\n');
      for (const l of seed.logins) {
        process.stdout.write(
          `  ${l.username.padEnd(24)} ${l.role.padEnd(8)} ${l.jurisdictionName}\n`,
        );
      }
      if (generated && seed.passwordMatches !== false) {
        process.stdout.write(`密码 / password (new accounts): ${demoPassword}\n\n`);
      } else if (seed.passwordMatches === false) {
        process.stdout.write(
          '（账号已存在，密码不变 / accounts existed: their password is unchanged)\n\n',
        );
      }
    } finally {
      await database.close();
    }
  } else {
    const loaded = await loadManifest(args['data-dir']);
    if (!loaded) {
      process.stderr.write(
        `no ${manifestPath(args['data-dir'])}: seed first with --database-url, or start the platform with CCM_SIMULATOR on\n`,
      );
      return 66;
    }
    manifest = loaded;
  }

  // Each device's seq and last fix, across runs (so a second run goes on without a gap).
  const memory = await DeviceMemory.load(args['data-dir']);
  const timing = { silenceThresholdMs: (args.interval + 180) * 1000, memory };
  const printRun = (run: ScenarioRun) =>
    process.stdout.write(
      `${run.name} on ${run.deviceId} (${run.mode}): expect ${
        run.expected.length === 0
          ? 'no alert'
          : run.expected.map((e) => `${e.type}${e.late ? ' (late)' : ''}`).join(', ')
      }${run.expectedSecurity.length ? `, security event ${run.expectedSecurity.join(', ')}` : ''}\n  ${run.note}\n`,
    );

  // A scenario on its own connection, then exit.
  if (fleetSize === 0 && args.scenario) {
    const run = await runScenario(args.scenario, {
      mqttUrl: args['mqtt-url'],
      // From the end of the list: fleets (the platform's demo too) run the first N devices,
      // and one device must never be driven by two processes at once.
      manifest: { ...manifest, wristbands: [...manifest.wristbands].reverse() },
      ...(args.target ? { target: args.target } : {}),
      intervalS: args.interval,
      heartbeatS: args.heartbeat,
      ...timing,
      logger: log,
    });
    printRun(run);
    await run.stop();
    return 0;
  }

  const wristbands = manifest.wristbands.slice(0, fleetSize);
  if (wristbands.length < fleetSize) {
    log.warn(
      { asked: fleetSize, available: wristbands.length },
      '数据集中的腕带不够，请用 --database-url --subjects 扩充 / not enough wristbands in the data set',
    );
  }
  const offices = new Set(wristbands.map((w) => w.officeCode));
  const devices: DemoDevice[] = [
    ...wristbands,
    ...manifest.terminals.filter((t) => offices.has(t.officeCode)),
  ];
  const fleet: Fleet = await startFleet({
    mqttUrl: args['mqtt-url'],
    devices,
    speed: args.speed,
    timeMode: args['time-mode'],
    backfillMs: args['backfill-minutes'] * 60_000,
    intervalS: args.interval,
    heartbeatS: args.heartbeat,
    coverageGaps: !args['no-gaps'],
    link: args.link,
    connectRatePerS: args['connect-rate'],
    ...(args['local-addresses'] ? { localAddresses: args['local-addresses'].split(',') } : {}),
    logger: log,
    memory,
  });
  log.info({ devices: fleet.size, mqtt: args['mqtt-url'] }, '设备队列已启动 / fleet started');

  const abort = new AbortController();
  let busy: Promise<unknown> = Promise.resolve();
  const play = (name: ScenarioName) => {
    busy = busy
      .then(() =>
        runScenario(name, {
          mqttUrl: args['mqtt-url'],
          manifest: { ...manifest, wristbands },
          fleet,
          ...(args.target ? { target: args.target } : {}),
          heartbeatS: args.heartbeat,
          ...timing,
          logger: log,
          signal: abort.signal,
        }),
      )
      .then(printRun)
      .catch((err: unknown) =>
        log.warn({ scenario: name, err: String(err) }, '场景未执行 / scenario not played'),
      );
  };
  const statsTimer = setInterval(() => log.info({ ...fleet.stats() }, 'fleet'), 10_000);
  let everyTimer: NodeJS.Timeout | undefined;
  if (args.scenario) {
    await fleet.connected(60_000);
    play(args.scenario);
  }
  if (args.every) {
    let turn = 0;
    everyTimer = setInterval(
      () => play(args.scenario ?? SCENARIO_NAMES[turn++ % SCENARIO_NAMES.length]!),
      args.every * 60_000,
    );
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log.info({}, '正在停止 / stopping');
  abort.abort();
  clearInterval(statsTimer);
  clearInterval(everyTimer);
  await busy;
  await fleet.stop();
  // What was sent and what the platform had not acknowledged when the fleet stopped (those
  // messages are not kept: see README, "Across runs").
  log.info({ ...fleet.stats() }, '设备队列已停止 / fleet stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
