import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database, SqlSession } from '@ccm/db';

/**
 * Forward-only SQL migrations: `sql/NNNN_name.sql`, or a pair `NNNN_name.timescale.sql` /
 * `NNNN_name.plain.sql` of which the runner applies the one that fits the database. Whether a
 * database is a TimescaleDB one is decided once, at its first migration, and recorded with
 * every applied version; later runs stay with that choice.
 */
export type TimescaleMode = 'auto' | 'on' | 'off';
type Variant = 'common' | 'timescale' | 'plain';

export interface MigrationFile {
  version: string;
  name: string;
  variant: Variant;
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  timescale?: TimescaleMode;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Folder of .sql files; defaults to this package's sql/. */
  dir?: string;
}

export interface MigrateResult {
  applied: string[];
  timescale: boolean;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+?)(?:\.(timescale|plain))?\.sql$/;
const DEFAULT_DIR = fileURLToPath(new URL('../sql/', import.meta.url));
// Any constant works; it only has to be the same for every CCM process sharing a database.
const LOCK_KEY = 7_402_553;

export function loadMigrationFiles(dir = DEFAULT_DIR): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = FILE_PATTERN.exec(file);
    if (!match) throw new MigrationError(`迁移文件名不合规 / bad migration file name: ${file}`);
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    files.push({
      version: match[1]!,
      name: match[2]!,
      variant: (match[3] as Variant | undefined) ?? 'common',
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  const byVersion = new Map<string, MigrationFile[]>();
  for (const f of files) byVersion.set(f.version, [...(byVersion.get(f.version) ?? []), f]);
  for (const [version, group] of byVersion) {
    const variants = group
      .map((f) => f.variant)
      .sort()
      .join(',');
    if (variants !== 'common' && variants !== 'plain,timescale') {
      throw new MigrationError(
        `迁移 ${version} 需要一个通用文件，或 timescale 与 plain 两个变体 / migration ${version} needs one common file or both a .timescale and a .plain variant (found: ${group.map((f) => f.file).join(', ')})`,
      );
    }
  }
  return files;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function decideTimescale(
  session: SqlSession,
  mode: TimescaleMode,
  recorded: Set<Variant>,
  logger: MigrateOptions['logger'],
): Promise<boolean> {
  if (recorded.has('timescale') || recorded.has('plain')) {
    const wasTimescale = recorded.has('timescale');
    if (mode === 'on' && !wasTimescale) {
      throw new MigrationError(
        '数据库以普通 PostgreSQL 模式创建，不能改为 TimescaleDB / CCM_TIMESCALEDB=on, but this database was created without TimescaleDB',
      );
    }
    return wasTimescale;
  }
  if (mode === 'off') return false;
  const installed = await session.query(`select 1 from pg_extension where extname = 'timescaledb'`);
  if (installed.length > 0) return true;
  const available = await session.query(
    `select 1 from pg_available_extensions where name = 'timescaledb'`,
  );
  if (available.length === 0) {
    if (mode === 'on') {
      throw new MigrationError(
        '未找到 timescaledb 扩展 / CCM_TIMESCALEDB=on, but the timescaledb extension is not available on this server',
      );
    }
    return false;
  }
  try {
    await session.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return true;
  } catch (err) {
    if (mode === 'on') throw err;
    logger?.warn(
      { err: (err as Error).message },
      'timescaledb 扩展无法启用，使用普通表 / timescaledb is listed but could not be created; using plain tables',
    );
    return false;
  }
}

/** Applies every pending migration, each in its own transaction. Safe to run twice. */
export async function migrate(
  database: Database,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const files = loadMigrationFiles(options.dir);
  const logger = options.logger;
  return database.withSession(async (session) => {
    await session.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await session.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    text PRIMARY KEY,
        name       text NOT NULL,
        variant    text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const rows = await session.query<{ version: string; variant: Variant; checksum: string }>(
        'select version, variant, checksum from schema_migrations order by version',
      );
      const applied = new Map(rows.map((r) => [r.version, r]));
      const timescale = await decideTimescale(
        session,
        options.timescale ?? 'auto',
        new Set(rows.map((r) => r.variant)),
        logger,
      );
      const wanted: Variant = timescale ? 'timescale' : 'plain';
      const done: string[] = [];
      for (const file of files) {
        if (file.variant !== 'common' && file.variant !== wanted) continue;
        const previous = applied.get(file.version);
        if (previous) {
          if (previous.checksum !== file.checksum) {
            throw new MigrationError(
              `已应用的迁移被修改 / applied migration ${file.file} was edited after it ran (forward-only: add a new migration instead)`,
            );
          }
          continue;
        }
        const record = `INSERT INTO schema_migrations (version, name, variant, checksum) VALUES (${quote(file.version)}, ${quote(file.name)}, ${quote(file.variant)}, ${quote(file.checksum)});`;
        try {
          await session.exec(`BEGIN;\n${file.sql}\n;\n${record}\nCOMMIT;`);
        } catch (err) {
          await session.exec('ROLLBACK').catch(() => undefined);
          throw new MigrationError(
            `迁移失败 / migration ${file.file} failed: ${(err as Error).message}`,
          );
        }
        logger?.info({ migration: file.file }, '已应用迁移 / migration applied');
        done.push(file.file);
      }
      return { applied: done, timescale };
    } finally {
      await session.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    }
  });
}

export interface RetentionSettings {
  compressAfterDays: number;
  retentionDays: number;
}

/**
 * Re-applies the compression and retention policy of `fixes` from configuration (the
 * migration only sets defaults). A no-op on plain PostgreSQL.
 */
export async function applyTimescalePolicies(database: Database, settings: RetentionSettings) {
  await database.withSession(async (session) => {
    const ts = await session.query(`select 1 from pg_extension where extname = 'timescaledb'`);
    if (ts.length === 0) return;
    const compress = `${Math.trunc(settings.compressAfterDays)} days`;
    const retain = `${Math.trunc(settings.retentionDays)} days`;
    await session.exec(`BEGIN;
      SELECT remove_compression_policy('fixes', if_exists => true);
      SELECT add_compression_policy('fixes', interval ${quote(compress)});
      SELECT remove_retention_policy('fixes', if_exists => true);
      SELECT add_retention_policy('fixes', interval ${quote(retain)});
      COMMIT;`);
  });
}
