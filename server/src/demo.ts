import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Database } from '@ccm/db';
import { startDemo, type Demo } from '@ccm/simulators';

/**
 * The demo `npm start` runs (CCM_SIMULATOR=on): the Guangxi data set and a small fleet of
 * simulated devices. Its accounts share one password: CCM_DEMO_PASSWORD, or one generated on
 * first start and kept in CCM_DATA_DIR/demo-password.txt (0600) — never a built-in password.
 */
export function demoPassword(dataDir: string, fromEnv: string | undefined): string {
  if (fromEnv) return fromEnv;
  const file = join(resolve(dataDir), 'demo-password.txt');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(resolve(dataDir), { recursive: true });
  const password = `ccm-${randomBytes(9).toString('base64url')}`;
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export async function runDemo(options: {
  database: Database;
  mqttUrl: string;
  dataDir: string;
  password: string;
  fleetSize: number;
  logger: Logger;
  httpUrl: string;
}): Promise<Demo> {
  const demo = await startDemo({
    database: options.database,
    mqttUrl: options.mqttUrl,
    dataDir: options.dataDir,
    demoPassword: options.password,
    fleetSize: options.fleetSize,
    logger: options.logger.child({ component: 'simulator' }),
  });
  // A few accounts of every role (all share the password); the rest are in the database.
  const shown = (['bureau', 'officer', 'police', 'auditor'] as const).flatMap((role) =>
    demo.logins.filter((l) => l.role === role).slice(0, role === 'officer' ? 3 : 1),
  );
  const lines = [
    ...shown.map((l) => `  ${l.username.padEnd(24)} ${l.role.padEnd(8)} ${l.jurisdictionName}`),
    `  （共 ${demo.logins.length} 个账户，密码相同 / ${demo.logins.length} accounts, same password）`,
  ];
  // For the person who just typed `npm start`: plain text, not a JSON log line.
  console.log(
    [
      '',
      '演示数据与模拟设备已启动 / demo data and simulated devices running',
      `  平台 / platform: ${options.httpUrl}   API 文档 / docs: ${options.httpUrl}/api/docs`,
      `  演示账户密码 / demo password: ${options.password}`,
      '  演示账户 / demo accounts:',
      ...lines,
      '',
    ].join('\n'),
  );
  options.logger.info({ logins: demo.logins.length }, '演示已启动 / demo running');
  return demo;
}
