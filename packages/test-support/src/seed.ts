import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { generateDeviceSecret, hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';

/** 广西 → 南宁市 → 青秀区 → 一个司法所 (township office), created if missing. */
export const TOWNSHIP = '450103001';

export async function seedJurisdictions(db: Kysely<DB>): Promise<void> {
  await db
    .insertInto('jurisdictions')
    .values([
      {
        code: '450000',
        parent_code: null,
        level: 'province',
        name_zh: '广西壮族自治区',
        name_en: 'Guangxi',
        path: '450000',
      },
      {
        code: '450100',
        parent_code: '450000',
        level: 'city',
        name_zh: '南宁市',
        name_en: 'Nanning',
        path: '450000.450100',
      },
      {
        code: '450103',
        parent_code: '450100',
        level: 'county',
        name_zh: '青秀区',
        name_en: 'Qingxiu District',
        path: '450000.450100.450103',
      },
      {
        code: TOWNSHIP,
        parent_code: '450103',
        level: 'township',
        name_zh: '新竹司法所',
        name_en: 'Xinzhu Justice Office',
        path: `450000.450100.450103.${TOWNSHIP}`,
      },
    ])
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
}

export interface SeededDevice {
  deviceId: string;
  deviceNo: number;
  secret: string;
  subjectId: string;
  subjectNo: number;
  orderId: string | null;
}

let sequence = 0;

/**
 * A subject with a device and (unless `order: null`) an active monitoring order covering
 * [startsAt, endsAt). Synthetic person; the device secret is returned once, as at registration.
 */
export async function seedMonitoredDevice(
  db: Kysely<DB>,
  options: {
    deviceId: string;
    kind?: 'wristband' | 'terminal' | 'phone';
    order?: { startsAt: Date; endsAt: Date } | null;
  },
): Promise<SeededDevice> {
  await seedJurisdictions(db);
  sequence++;
  const secret = generateDeviceSecret();
  const subject = await db
    .insertInto('subjects')
    .values({
      name: `测试对象${sequence}`,
      // Unique within this process (one test file, one database): the counter picks the day.
      id_card_no: syntheticIdCardNo(
        '450103',
        new Date(Date.UTC(1960, 0, 1) + sequence * 86_400_000).toISOString().slice(0, 10),
        sequence % 1000,
      ),
      correction_type: 'probation',
      term_start: '2026-01-01',
      term_end: '2028-12-31',
      jurisdiction_code: TOWNSHIP,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
  const device = await db
    .insertInto('devices')
    .values({
      id: options.deviceId,
      kind: options.kind ?? 'wristband',
      secret_hash: hashDeviceSecret(secret),
      jurisdiction_code: TOWNSHIP,
    })
    .returning(['no'])
    .executeTakeFirstOrThrow();
  let orderId: string | null = null;
  const now = Date.now();
  const order =
    options.order === undefined
      ? { startsAt: new Date(now - 30 * 86_400_000), endsAt: new Date(now + 30 * 86_400_000) }
      : options.order;
  if (order) {
    const row = await db
      .insertInto('monitoring_orders')
      .values({
        subject_id: subject.id,
        device_id: options.deviceId,
        legal_ground: 'left_without_approval',
        approver_name: '测试局长',
        approved_at: order.startsAt,
        starts_at: order.startsAt,
        initial_ends_at: order.endsAt,
        ends_at: order.endsAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    orderId = row.id;
  }
  return {
    deviceId: options.deviceId,
    deviceNo: device.no,
    secret,
    subjectId: subject.id,
    subjectNo: subject.no,
    orderId,
  };
}
