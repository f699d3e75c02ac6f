import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the dashboard (vite build → dashboard/dist) unless dist already holds a build of
 * exactly these sources: a hash of every input file is kept in dist/.inputs-hash. `npm start`
 * runs this first, so a fresh clone shows the dashboard and an unchanged tree starts at once.
 */
const DASHBOARD = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(DASHBOARD, '..');
const STAMP = join(DASHBOARD, 'dist', '.inputs-hash');
const INPUTS = [
  'src',
  'public',
  'index.html',
  'vite.config.ts',
  'package.json',
  'tsconfig.json',
  // Shared code the dashboard imports (the basemap config schema).
  '../packages/contracts/src',
];

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => files(join(path, name)));
}

export function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((p) => files(join(DASHBOARD, p)))) {
    hash.update(relative(DASHBOARD, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  // Dependency versions (the lockfile) change the build too.
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(lock)) hash.update(readFileSync(lock));
  return hash.digest('hex');
}

export function isBuilt(hash = inputsHash()): boolean {
  return (
    existsSync(join(DASHBOARD, 'dist', 'index.html')) &&
    existsSync(STAMP) &&
    readFileSync(STAMP, 'utf8').trim() === hash
  );
}

/** Builds when needed; returns whether it built. Throws when the build fails. */
export function ensureBuilt(log: (line: string) => void = console.log): boolean {
  const hash = inputsHash();
  if (isBuilt(hash)) return false;
  let vitePackage: string;
  try {
    vitePackage = createRequire(join(DASHBOARD, 'package.json')).resolve('vite/package.json');
  } catch {
    // An install without dev dependencies: serve what is there (or the "not built" page).
    log('未安装 vite，跳过工作台构建 / vite is not installed: the dashboard is not rebuilt');
    return false;
  }
  log('构建工作台 / building the dashboard (vite build)…');
  const vite = join(dirname(vitePackage), 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: DASHBOARD,
    stdio: 'inherit',
    // A test runner's NODE_ENV=test would make a development build of React.
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status})`);
  writeFileSync(STAMP, `${hash}\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureBuilt();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
