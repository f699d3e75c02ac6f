import type { Kysely, Transaction, Updateable } from 'kysely';
import type { WeeklySchedule, ZoneGeometry } from '@ccm/contracts';
import type { DB, ZonesTable } from '@ccm/db';
import { compileGeometry, validateZoneGeometry } from '@ccm/geofence';
import { audit } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { isPathWithin } from '../auth/scope';
import { AppError } from '../errors';
import { iso } from '../http';
import {
  findJurisdictionInScope,
  findSubjectWithPath,
  findZoneInScope,
  type ZoneRow,
} from './repository';
import type { CreateZoneBody, PatchZoneBody, ZoneView } from './schemas';

/**
 * Zones (电子围栏): validated twice (zod shape, then the engine's geometry checks), stored
 * with their bounding box, soft-deleted. The gateway reloads zones on NOTIFY ccm_config,
 * which a trigger sends on every change.
 */

export interface RequestContext {
  ip: string;
  now: Date;
}

export const zoneNotFound = () =>
  new AppError(404, 'ZONE_NOT_FOUND', '未找到电子围栏 / zone not found');
export const subjectNotFound = () =>
  new AppError(404, 'SUBJECT_NOT_FOUND', '未找到矫正对象 / subject not found');
const jurisdictionNotFound = () =>
  new AppError(404, 'JURISDICTION_NOT_FOUND', '未找到辖区 / jurisdiction not found');
export const zoneDeleted = () =>
  new AppError(409, 'ZONE_DELETED', '该围栏已删除 / the zone has been deleted');

/** 400 INVALID_GEOMETRY with every problem; the message names where the first ones are. */
export function assertValidGeometry(geometry: ZoneGeometry, field = 'geometry'): void {
  const problems = validateZoneGeometry(geometry);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 3).map((p) => p.message);
  const more = problems.length > shown.length ? ` (+${problems.length - shown.length})` : '';
  throw new AppError(
    400,
    'INVALID_GEOMETRY',
    `围栏几何无效 / invalid zone ${field}: ${shown.join('; ')}${more}`,
    { field, problems },
  );
}

/** [minLon, minLat, maxLon, maxLat]; for a circle from its centre and radius in metres. */
export function geometryBbox(geometry: ZoneGeometry): [number, number, number, number] {
  const { box } = compileGeometry(geometry);
  return [box.minX, box.minY, box.maxX, box.maxY];
}

export function toZoneView(z: ZoneRow): ZoneView {
  return {
    id: z.id,
    name: z.name,
    kind: z.kind,
    purpose: z.purpose,
    geometry: z.geometry as ZoneGeometry,
    bbox: [z.min_lon, z.min_lat, z.max_lon, z.max_lat],
    bufferM: z.buffer_m,
    schedule: (z.schedule as WeeklySchedule | null) ?? null,
    confirmFixes: z.confirm_fixes,
    confirmSeconds: z.confirm_seconds,
    jurisdictionCode: z.jurisdiction_code,
    subjectId: z.subject_id,
    active: z.active,
    version: z.version,
    createdBy: z.created_by,
    createdAt: iso(z.created_at),
    updatedAt: iso(z.updated_at),
  };
}

const json = (value: unknown) => JSON.stringify(value);

/**
 * Where the zone belongs: the given node (in scope) or, by default, the subject's node or
 * the user's own. A subject's zone must sit at the subject's node or above it, so that
 * whoever sees the subject can see the zone.
 */
async function placeZone(
  trx: Transaction<DB>,
  user: AuthUser,
  jurisdictionCode: string | undefined,
  subjectId: string | null | undefined,
): Promise<{ jurisdictionCode: string; subjectId: string | null }> {
  const subject = subjectId ? await findSubjectWithPath(trx, user, subjectId) : undefined;
  if (subjectId && !subject) throw subjectNotFound();
  const code = jurisdictionCode ?? subject?.jurisdiction_code ?? user.jurisdictionCode;
  const node = await findJurisdictionInScope(trx, user, code);
  if (!node) throw jurisdictionNotFound();
  if (subject && !isPathWithin(node.path, subject.path)) {
    throw new AppError(
      400,
      'ZONE_SUBJECT_OUTSIDE_JURISDICTION',
      `jurisdictionCode: 对象专属围栏须属于对象所在辖区或其上级 / a subject's zone must belong to the subject's jurisdiction (${subject.jurisdiction_code}) or one above it`,
      { field: 'jurisdictionCode' },
    );
  }
  return { jurisdictionCode: node.code, subjectId: subject?.id ?? null };
}

export async function createZone(
  db: Kysely<DB>,
  user: AuthUser,
  body: CreateZoneBody,
  ctx: RequestContext,
): Promise<ZoneView> {
  assertValidGeometry(body.geometry);
  const [minLon, minLat, maxLon, maxLat] = geometryBbox(body.geometry);
  return db.transaction().execute(async (trx) => {
    const place = await placeZone(trx, user, body.jurisdictionCode, body.subjectId);
    const row = await trx
      .insertInto('zones')
      .values({
        name: body.name,
        kind: body.kind,
        purpose: body.purpose,
        geometry: json(body.geometry),
        min_lon: minLon,
        min_lat: minLat,
        max_lon: maxLon,
        max_lat: maxLat,
        buffer_m: body.bufferM,
        schedule: body.schedule === null ? null : json(body.schedule),
        confirm_fixes: body.confirmFixes ?? null,
        confirm_seconds: body.confirmSeconds ?? null,
        jurisdiction_code: place.jurisdictionCode,
        subject_id: place.subjectId,
        created_by: user.id,
        created_at: ctx.now,
        updated_at: ctx.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'zone.create',
      resourceType: 'zone',
      resourceId: row.id,
      jurisdictionCode: row.jurisdiction_code,
      detail: {
        name: row.name,
        kind: row.kind,
        purpose: row.purpose,
        subjectId: row.subject_id,
        bbox: [minLon, minLat, maxLon, maxLat],
        version: row.version,
      },
      ip: ctx.ip,
    });
    return toZoneView(row);
  });
}

/** Changes a zone and bumps its version; 409 when `version` is given and stale. */
export async function patchZone(
  db: Kysely<DB>,
  user: AuthUser,
  zoneId: string,
  body: PatchZoneBody,
  ctx: RequestContext,
): Promise<ZoneView> {
  if (body.geometry) assertValidGeometry(body.geometry);
  return db.transaction().execute(async (trx) => {
    const zone = await findZoneInScope(trx, user, zoneId, { forUpdate: true });
    if (!zone) throw zoneNotFound();
    if (!zone.active) throw zoneDeleted();
    if (body.version !== undefined && body.version !== zone.version) {
      throw new AppError(
        409,
        'ZONE_VERSION_CONFLICT',
        `围栏已被他人修改（当前版本 ${zone.version}）/ the zone was changed meanwhile (now version ${zone.version})`,
        { version: zone.version },
      );
    }
    const changes: Updateable<ZonesTable> = {};
    if (body.name !== undefined) changes.name = body.name;
    if (body.kind !== undefined) changes.kind = body.kind;
    if (body.purpose !== undefined) changes.purpose = body.purpose;
    if (body.bufferM !== undefined) changes.buffer_m = body.bufferM;
    if (body.schedule !== undefined)
      changes.schedule = body.schedule === null ? null : json(body.schedule);
    if (body.confirmFixes !== undefined) changes.confirm_fixes = body.confirmFixes;
    if (body.confirmSeconds !== undefined) changes.confirm_seconds = body.confirmSeconds;
    if (body.geometry) {
      const [minLon, minLat, maxLon, maxLat] = geometryBbox(body.geometry);
      Object.assign(changes, {
        geometry: json(body.geometry),
        min_lon: minLon,
        min_lat: minLat,
        max_lon: maxLon,
        max_lat: maxLat,
      });
    }
    if (body.jurisdictionCode !== undefined || body.subjectId !== undefined) {
      const place = await placeZone(
        trx,
        user,
        body.jurisdictionCode ?? zone.jurisdiction_code,
        body.subjectId === undefined ? zone.subject_id : body.subjectId,
      );
      changes.jurisdiction_code = place.jurisdictionCode;
      changes.subject_id = place.subjectId;
    }
    const row = await trx
      .updateTable('zones')
      .set({ ...changes, version: zone.version + 1, updated_at: ctx.now })
      .where('id', '=', zone.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'zone.update',
      resourceType: 'zone',
      resourceId: row.id,
      jurisdictionCode: row.jurisdiction_code,
      detail: {
        changed: Object.keys(body).filter((k) => k !== 'version'),
        version: row.version,
        ...(row.jurisdiction_code !== zone.jurisdiction_code
          ? { fromJurisdictionCode: zone.jurisdiction_code }
          : {}),
      },
      ip: ctx.ip,
    });
    return toZoneView(row);
  });
}

/** Soft delete: the zone stays for the alerts that refer to it, but no longer applies. */
export async function deleteZone(
  db: Kysely<DB>,
  user: AuthUser,
  zoneId: string,
  ctx: RequestContext,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const zone = await findZoneInScope(trx, user, zoneId, { forUpdate: true });
    if (!zone) throw zoneNotFound();
    if (!zone.active) return; // already deleted: DELETE is idempotent
    await trx
      .updateTable('zones')
      .set({ active: false, version: zone.version + 1, updated_at: ctx.now })
      .where('id', '=', zone.id)
      .execute();
    await audit(trx, {
      actor: user,
      action: 'zone.delete',
      resourceType: 'zone',
      resourceId: zone.id,
      jurisdictionCode: zone.jurisdiction_code,
      detail: { name: zone.name, version: zone.version + 1 },
      ip: ctx.ip,
    });
  });
}
