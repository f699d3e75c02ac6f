import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, MonitoringOrderExtensionsTable, MonitoringOrdersTable } from '@ccm/db';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';

/**
 * Queries of monitoring orders (电子定位决定) and their extensions. Every read that takes an
 * id from a request is scoped by the subject's jurisdiction: out of scope reads as absent.
 */
type Db = Kysely<DB> | Transaction<DB>;

export type OrderRow = Selectable<MonitoringOrdersTable> & { jurisdiction_code: string };
export type ExtensionRow = Selectable<MonitoringOrderExtensionsTable>;

export interface ScopedSubject {
  id: string;
  no: number;
  jurisdiction_code: string;
  status: string;
}

/** A subject the user may see, or undefined (absent or out of scope: both read as 404). */
export async function findSubjectInScope(
  db: Db,
  user: AuthUser,
  subjectId: string,
): Promise<ScopedSubject | undefined> {
  return db
    .selectFrom('subjects')
    .select(['id', 'no', 'jurisdiction_code', 'status'])
    .where('id', '=', subjectId)
    .where(inScope(user, 'subjects.jurisdiction_code'))
    .executeTakeFirst();
}

export async function findDeviceInScope(db: Db, user: AuthUser, deviceId: string) {
  return db
    .selectFrom('devices')
    .select(['id', 'no', 'status', 'jurisdiction_code'])
    .where('id', '=', deviceId)
    .where(inScope(user, 'devices.jurisdiction_code'))
    .executeTakeFirst();
}

/** The order with its subject's jurisdiction; `forUpdate` locks the order row. */
export async function findOrderInScope(
  db: Db,
  user: AuthUser,
  orderId: string,
  options: { forUpdate?: boolean } = {},
): Promise<OrderRow | undefined> {
  let query = db
    .selectFrom('monitoring_orders as o')
    .innerJoin('subjects as s', 's.id', 'o.subject_id')
    .selectAll('o')
    .select('s.jurisdiction_code')
    .where('o.id', '=', orderId)
    .where(inScope(user, 's.jurisdiction_code'));
  if (options.forUpdate) query = query.forUpdate('o');
  return query.executeTakeFirst();
}

/** A subject's orders, newest start first (keyset on starts_at, id). */
export async function listOrdersOfSubject(
  db: Db,
  subject: ScopedSubject,
  page: { limit: number; after?: { startsAt: Date; id: string } },
): Promise<OrderRow[]> {
  let query = db
    .selectFrom('monitoring_orders as o')
    .selectAll('o')
    .select(sql<string>`${subject.jurisdiction_code}::text`.as('jurisdiction_code'))
    .where('o.subject_id', '=', subject.id)
    .orderBy('o.starts_at', 'desc')
    .orderBy('o.id', 'desc')
    .limit(page.limit + 1);
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb(eb.refTuple('o.starts_at', 'o.id'), '<', eb.tuple(after.startsAt, after.id)),
    );
  }
  return query.execute();
}

/** Extensions of these orders, newest request first. */
export async function extensionsOf(db: Db, orderIds: string[]): Promise<ExtensionRow[]> {
  if (orderIds.length === 0) return [];
  return db
    .selectFrom('monitoring_order_extensions')
    .selectAll()
    .where('order_id', 'in', orderIds)
    .orderBy('requested_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

export async function listExtensions(
  db: Db,
  orderId: string,
  page: { limit: number; after?: { requestedAt: Date; id: string } },
): Promise<ExtensionRow[]> {
  let query = db
    .selectFrom('monitoring_order_extensions')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('requested_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1);
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb(eb.refTuple('requested_at', 'id'), '<', eb.tuple(after.requestedAt, after.id)),
    );
  }
  return query.execute();
}

export async function findExtension(
  db: Db,
  orderId: string,
  extensionId: string,
  options: { forUpdate?: boolean } = {},
): Promise<ExtensionRow | undefined> {
  let query = db
    .selectFrom('monitoring_order_extensions')
    .selectAll()
    .where('id', '=', extensionId)
    .where('order_id', '=', orderId);
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function pendingExtensionOf(db: Db, orderId: string) {
  return db
    .selectFrom('monitoring_order_extensions')
    .select('id')
    .where('order_id', '=', orderId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
}

/**
 * An order of this device or subject whose effective window
 * [starts_at, min(ends_at, ended_at)) meets [from, to), other than `exceptOrderId`.
 * Unscoped on purpose: a device or person can be in one order at a time, whoever holds it.
 */
export async function overlappingOrder(
  db: Db,
  by: { deviceId: string } | { subjectId: string },
  window: { from: Date; to: Date },
  exceptOrderId?: string,
) {
  let query = db
    .selectFrom('monitoring_orders')
    .select(['id', 'starts_at', 'ends_at', 'ended_at'])
    .where('starts_at', '<', window.to)
    .where(sql<boolean>`least(ends_at, coalesce(ended_at, ends_at)) > ${window.from}`)
    // An order ended before it started (cancelled) covers nothing.
    .where(sql<boolean>`coalesce(ended_at, ends_at) > starts_at`)
    .limit(1);
  query =
    'deviceId' in by
      ? query.where('device_id', '=', by.deviceId)
      : query.where('subject_id', '=', by.subjectId);
  if (exceptOrderId) query = query.where('id', '<>', exceptOrderId);
  return query.executeTakeFirst();
}

/**
 * `from + interval '3 months'` as PostgreSQL computes it (the CHECK constraints of both
 * tables use the same expression, so the API and the database agree on month ends).
 */
export async function threeMonthsAfter(db: Db, from: Date): Promise<Date> {
  const row = await sql<{
    limit: Date;
  }>`select (${from}::timestamptz + interval '3 months') as "limit"`.execute(db);
  const limit = row.rows[0]?.limit;
  if (!limit) throw new Error('3-month limit not computed');
  return new Date(limit);
}

/** Key space of the two-integer advisory locks taken by order changes. */
const ORDER_LOCK_CLASS = 7_402_601;

/** Serialises order changes per device and per subject (device first, then subject). */
export async function lockOrderKeys(
  trx: Transaction<DB>,
  keys: { deviceId: string; subjectId: string },
): Promise<void> {
  await sql`select pg_advisory_xact_lock(${ORDER_LOCK_CLASS}, hashtext(${`device:${keys.deviceId}`}))`.execute(
    trx,
  );
  await sql`select pg_advisory_xact_lock(${ORDER_LOCK_CLASS}, hashtext(${`subject:${keys.subjectId}`}))`.execute(
    trx,
  );
}
