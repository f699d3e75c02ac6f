import { hash, verify } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import type { DB, Role } from '@ccm/db';
import { generateDeviceSecret, hashDeviceSecret, verifyDeviceSecret } from '@ccm/device-gateway';
import { buildDemoPlan, type DemoPlan, type DemoPlanOptions } from './demo-plan';
import { bboxOf } from './geo';
import { silentLogger, type Logger } from './log';
import {
  MANIFEST_FORMAT,
  loadManifest,
  manifestPath,
  saveManifest,
  type DemoManifest,
  type DemoTerminal,
  type DemoWristband,
} from './manifest';

/**
 * Seeds the Guangxi demo data set, idempotently: a second call with the same options
 * inserts nothing, changes nothing and returns the same devices with the same secrets.
 *
 * Every row has a stable id (see demo-plan.ts) and is inserted with ON CONFLICT DO NOTHING.
 * Device secrets live only in `${dataDir}/demo-devices.json` (0600); the database gets
 * `hashDeviceSecret`. A device whose secret is missing from the file (the file was deleted)
 * or no longer matches its stored hash gets a new secret: the only update the seed makes.
 * User passwords are set when a user is created and never changed by the seed.
 */
export interface SeedDemoOptions extends DemoPlanOptions {
  /** Where `demo-devices.json` lives (the platform's data folder). */
  dataDir: string;
  /** The one password of every demo account (≥ 12 characters). Never stored in clear. */
  demoPassword: string;
  logger?: Logger;
}

export interface DemoLogin {
  username: string;
  role: Exclude<Role, 'admin'>;
  jurisdiction: string;
  jurisdictionName: string;
  displayName: string;
}

export interface SeedDemoResult {
  manifest: DemoManifest;
  wristbands: DemoWristband[];
  terminals: DemoTerminal[];
  logins: DemoLogin[];
  /** Rows inserted by this call, per table (all zero on a repeat call). */
  inserted: Record<SeedTable, number>;
  /** Devices that got a new secret (the file had none, or a stale one). */
  rotatedSecrets: number;
  /** Whether `demoPassword` opens the demo accounts that already existed (null: none did). */
  passwordMatches: boolean | null;
  manifestPath: string;
}

export type SeedTable =
  | 'jurisdictions'
  | 'users'
  | 'subjects'
  | 'devices'
  | 'monitoring_orders'
  | 'zones'
  | 'zone_assignments';

/** argon2id, the server's parameters (server/src/auth/password.ts): OWASP's minimum. */
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
const BATCH = 500;

function chunks<T>(rows: readonly T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

export async function seedDemo(db: Kysely<DB>, options: SeedDemoOptions): Promise<SeedDemoResult> {
  if (options.demoPassword.length < 12) {
    throw new Error('demoPassword must be at least 12 characters (the platform’s password rule)');
  }
  const log = options.logger ?? silentLogger;
  const plan = buildDemoPlan(options);
  const previous = await loadManifest(options.dataDir).catch((err: unknown) => {
    log.warn(
      { err: String(err) },
      '演示设备文件无法读取，将重新发放密钥 / demo device file unreadable',
    );
    return null;
  });
  const knownSecrets = new Map<string, string>();
  for (const d of [...(previous?.wristbands ?? []), ...(previous?.terminals ?? [])]) {
    if (typeof d.secret === 'string') knownSecrets.set(d.deviceId, d.secret);
  }

  const inserted: Record<SeedTable, number> = {
    jurisdictions: 0,
    users: 0,
    subjects: 0,
    devices: 0,
    monitoring_orders: 0,
    zones: 0,
    zone_assignments: 0,
  };

  // Passwords are hashed outside the transaction (≈ 20 ms each) and only for new users.
  const existingUsers = new Map(
    (
      await db
        .selectFrom('users')
        .select(['id', 'username', 'password_hash'])
        .where(
          'username',
          'in',
          plan.users.map((u) => u.username),
        )
        .execute()
    ).map((u) => [u.username, u]),
  );
  const newUsers = plan.users.filter((u) => !existingUsers.has(u.username));
  const hashes = new Map<string, string>();
  for (const group of chunks(newUsers, 4)) {
    await Promise.all(
      group.map(async (u) => hashes.set(u.username, await hash(options.demoPassword, ARGON2))),
    );
  }
  const sample = [...existingUsers.values()][0];
  const passwordMatches = sample
    ? await verify(sample.password_hash, options.demoPassword).catch(() => false)
    : null;

  let rotatedSecrets = 0;
  const secrets = new Map<string, string>();
  await db.transaction().execute(async (trx) => {
    const count = (table: SeedTable, rows: readonly unknown[]) => (inserted[table] += rows.length);

    for (const batch of chunks(plan.jurisdictions)) {
      const rows = await trx
        .insertInto('jurisdictions')
        .values(
          batch.map((j) => ({
            code: j.code,
            parent_code: j.parentCode,
            level: j.level,
            name_zh: j.nameZh,
            name_en: j.nameEn,
            path: j.path,
          })),
        )
        .onConflict((oc) => oc.column('code').doNothing())
        .returning('code')
        .execute();
      count('jurisdictions', rows);
    }

    if (newUsers.length > 0) {
      const rows = await trx
        .insertInto('users')
        .values(
          newUsers.map((u) => ({
            id: u.id,
            username: u.username,
            display_name: u.displayName,
            role: u.role,
            jurisdiction_code: u.jurisdictionCode,
            password_hash: hashes.get(u.username)!,
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      count('users', rows);
    }
    // A demo username that already belonged to someone keeps its row: use that row's id.
    const userIds = new Map(
      (
        await trx
          .selectFrom('users')
          .select(['id', 'username'])
          .where(
            'username',
            'in',
            plan.users.map((u) => u.username),
          )
          .execute()
      ).map((u) => [u.username, u.id]),
    );
    const usernameOf = new Map(plan.users.map((u) => [u.id, u.username]));
    const userId = (planned: string) => userIds.get(usernameOf.get(planned) ?? '') ?? planned;

    for (const batch of chunks(plan.subjects)) {
      const rows = await trx
        .insertInto('subjects')
        .values(
          batch.map((s) => ({
            id: s.id,
            name: s.name,
            id_card_no: s.idCardNo,
            gender: s.gender,
            birth_date: s.birthDate,
            correction_type: s.correctionType,
            term_start: s.termStart,
            term_end: s.termEnd,
            jurisdiction_code: s.jurisdictionCode,
            management_level: s.managementLevel,
            officer_id: userId(s.officerId),
            home_address: s.homeAddress,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      count('subjects', rows);
    }

    // Devices: new ones get the file's secret (or a new one); existing ones keep theirs
    // when the file's secret still opens them.
    const existingDevices = new Map<string, string>();
    for (const batch of chunks(plan.devices)) {
      for (const d of await trx
        .selectFrom('devices')
        .select(['id', 'secret_hash'])
        .where(
          'id',
          'in',
          batch.map((x) => x.id),
        )
        .execute()) {
        existingDevices.set(d.id, d.secret_hash);
      }
    }
    const newDevices = plan.devices.filter((d) => !existingDevices.has(d.id));
    for (const d of plan.devices) {
      const known = knownSecrets.get(d.id);
      const stored = existingDevices.get(d.id);
      if (stored === undefined) {
        secrets.set(d.id, known ?? generateDeviceSecret());
      } else if (known !== undefined && verifyDeviceSecret(stored, known)) {
        secrets.set(d.id, known);
      } else {
        const secret = generateDeviceSecret();
        secrets.set(d.id, secret);
        await trx
          .updateTable('devices')
          .set({
            secret_hash: hashDeviceSecret(secret),
            secret_rotated_at: new Date(),
            updated_at: new Date(),
          })
          .where('id', '=', d.id)
          .execute();
        rotatedSecrets++;
      }
    }
    for (const batch of chunks(newDevices)) {
      const rows = await trx
        .insertInto('devices')
        .values(
          batch.map((d) => ({
            id: d.id,
            kind: d.kind,
            secret_hash: hashDeviceSecret(secrets.get(d.id)!),
            jurisdiction_code: d.jurisdictionCode,
            vendor: d.vendor,
            model: d.model,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      count('devices', rows);
    }
    // Each subject checks in at their office's terminal (信息化核查); requests go there.
    for (const batch of chunks(plan.subjects)) {
      await trx
        .updateTable('subjects')
        .set((eb) => ({
          checkin_device_id: eb
            .selectFrom('devices')
            .select('devices.id')
            .where('devices.kind', '=', 'terminal')
            .whereRef('devices.jurisdiction_code', '=', 'subjects.jurisdiction_code')
            .orderBy('devices.id')
            .limit(1),
        }))
        .where(
          'id',
          'in',
          batch.map((x) => x.id),
        )
        .where('checkin_device_id', 'is', null)
        .execute();
    }

    for (const batch of chunks(plan.orders)) {
      const rows = await trx
        .insertInto('monitoring_orders')
        .values(
          batch.map((o) => ({
            id: o.id,
            subject_id: o.subjectId,
            device_id: o.deviceId,
            legal_ground: o.legalGround,
            ground_detail: o.groundDetail,
            decision_no: o.decisionNo,
            approver_name: o.approverName,
            approver_id: userId(o.approverId),
            approved_at: o.approvedAt,
            starts_at: o.startsAt,
            initial_ends_at: o.endsAt,
            ends_at: o.endsAt,
            created_by: userId(o.createdBy),
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      count('monitoring_orders', rows);
    }

    for (const batch of chunks(plan.zones)) {
      const rows = await trx
        .insertInto('zones')
        .values(
          batch.map((z) => {
            const box = bboxOf(z.geometry);
            return {
              id: z.id,
              name: z.name,
              kind: z.kind,
              purpose: z.purpose,
              geometry: JSON.stringify(z.geometry),
              min_lon: box.minLon,
              min_lat: box.minLat,
              max_lon: box.maxLon,
              max_lat: box.maxLat,
              buffer_m: z.bufferM,
              schedule: z.schedule === null ? null : JSON.stringify(z.schedule),
              jurisdiction_code: z.jurisdictionCode,
              subject_id: z.subjectId,
            };
          }),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      count('zones', rows);
    }

    for (const batch of chunks(plan.assignments)) {
      const rows = await trx
        .insertInto('zone_assignments')
        .values(batch.map((a) => ({ subject_id: a.subjectId, zone_id: a.zoneId })))
        .onConflict((oc) => oc.columns(['subject_id', 'zone_id']).doNothing())
        .returning('zone_id')
        .execute();
      count('zone_assignments', rows);
    }
  });

  const manifest = toManifest(plan, options.seed ?? 1, secrets);
  const written = await saveManifest(options.dataDir, manifest);
  const names = new Map(plan.jurisdictions.map((j) => [j.code, j.nameZh]));
  const logins: DemoLogin[] = plan.users.map((u) => ({
    username: u.username,
    role: u.role,
    jurisdiction: u.jurisdictionCode,
    jurisdictionName: names.get(u.jurisdictionCode) ?? u.jurisdictionCode,
    displayName: u.displayName,
  }));
  log.info(
    { inserted, rotatedSecrets, manifest: manifestPath(options.dataDir), written },
    '演示数据已就绪 / demo data seeded',
  );
  return {
    manifest,
    wristbands: manifest.wristbands,
    terminals: manifest.terminals,
    logins,
    inserted,
    rotatedSecrets,
    passwordMatches,
    manifestPath: manifestPath(options.dataDir),
  };
}

function toManifest(plan: DemoPlan, seed: number, secrets: Map<string, string>): DemoManifest {
  return {
    format: MANIFEST_FORMAT,
    seed,
    wristbands: plan.wristbands.map((w) => ({ ...w, secret: secrets.get(w.deviceId)! })),
    terminals: plan.terminals.map((t) => ({ ...t, secret: secrets.get(t.deviceId)! })),
    zones: plan.zones,
  };
}
