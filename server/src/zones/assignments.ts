import type { Kysely } from 'kysely';
import type { WeeklySchedule } from '@ccm/contracts';
import type { DB } from '@ccm/db';
import { audit } from '../audit/audit';
import type { AuthUser } from '../auth/types';
import { AppError } from '../errors';
import { isoOrNull, toPage } from '../http';
import {
  findAssignment,
  findSubjectWithPath,
  findZoneInScope,
  listSubjectZones,
  type SubjectZoneRow,
} from './repository';
import type { AssignmentBody, SubjectZoneView } from './schemas';
import {
  subjectNotFound,
  toZoneView,
  zoneDeleted,
  zoneNotFound,
  type RequestContext,
} from './service';

/**
 * Which zones apply to a subject (`zone_assignments`), optionally with a schedule of its own
 * and a validity window. A zone with `subject_id` set applies to that subject without an
 * assignment and cannot be assigned to anyone else.
 */

function toSubjectZoneView(subjectId: string, r: SubjectZoneRow): SubjectZoneView {
  const assigned = r.a_subject_id !== null;
  return {
    subjectId,
    zoneId: r.id,
    via: assigned ? 'assignment' : 'personal',
    scheduleOverride: (r.a_schedule_override as WeeklySchedule | null) ?? null,
    validFrom: isoOrNull(r.a_valid_from),
    validTo: isoOrNull(r.a_valid_to),
    assignedBy: r.a_created_by,
    assignedAt: isoOrNull(r.a_created_at),
    zone: toZoneView(r),
  };
}

export async function subjectZones(
  db: Kysely<DB>,
  user: AuthUser,
  subjectId: string,
  page: { limit: number; after?: { name: string; id: string } | undefined },
) {
  const subject = await findSubjectWithPath(db, user, subjectId);
  if (!subject) throw subjectNotFound();
  const rows = await listSubjectZones(db, subject.id, page);
  return toPage(
    rows,
    page.limit,
    (r) => toSubjectZoneView(subject.id, r),
    (r) => [r.name, r.id],
  );
}

async function scopedPair(db: Kysely<DB>, user: AuthUser, subjectId: string, zoneId: string) {
  const subject = await findSubjectWithPath(db, user, subjectId);
  if (!subject) throw subjectNotFound();
  const zone = await findZoneInScope(db, user, zoneId);
  if (!zone) throw zoneNotFound();
  return { subject, zone };
}

/** Creates or replaces the assignment; `created` tells which. */
export async function putAssignment(
  db: Kysely<DB>,
  user: AuthUser,
  ids: { subjectId: string; zoneId: string },
  body: AssignmentBody,
  ctx: RequestContext,
): Promise<{ created: boolean; view: SubjectZoneView }> {
  return db.transaction().execute(async (trx) => {
    const { subject, zone } = await scopedPair(trx, user, ids.subjectId, ids.zoneId);
    if (!zone.active) throw zoneDeleted();
    if (zone.subject_id !== null && zone.subject_id !== subject.id) {
      throw new AppError(
        409,
        'ZONE_OF_ANOTHER_SUBJECT',
        '该围栏为其他对象专属 / the zone belongs to another subject',
      );
    }
    const before = await findAssignment(trx, subject.id, zone.id);
    const values = {
      schedule_override: body.scheduleOverride ? JSON.stringify(body.scheduleOverride) : null,
      valid_from: body.validFrom ? new Date(body.validFrom) : null,
      valid_to: body.validTo ? new Date(body.validTo) : null,
    };
    const row = await trx
      .insertInto('zone_assignments')
      .values({
        subject_id: subject.id,
        zone_id: zone.id,
        ...values,
        created_by: user.id,
        created_at: ctx.now,
      })
      .onConflict((oc) => oc.columns(['subject_id', 'zone_id']).doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, {
      actor: user,
      action: 'zone_assignment.put',
      resourceType: 'subject',
      resourceId: subject.id,
      jurisdictionCode: subject.jurisdiction_code,
      detail: {
        zoneId: zone.id,
        created: !before,
        scheduleOverride: body.scheduleOverride ?? null,
        validFrom: isoOrNull(row.valid_from),
        validTo: isoOrNull(row.valid_to),
      },
      ip: ctx.ip,
    });
    return {
      created: !before,
      view: toSubjectZoneView(subject.id, {
        ...zone,
        a_subject_id: row.subject_id,
        a_schedule_override: row.schedule_override,
        a_valid_from: row.valid_from,
        a_valid_to: row.valid_to,
        a_created_by: row.created_by,
        a_created_at: row.created_at,
      }),
    };
  });
}

export async function deleteAssignment(
  db: Kysely<DB>,
  user: AuthUser,
  ids: { subjectId: string; zoneId: string },
  ctx: RequestContext,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const { subject, zone } = await scopedPair(trx, user, ids.subjectId, ids.zoneId);
    const removed = await trx
      .deleteFrom('zone_assignments')
      .where('subject_id', '=', subject.id)
      .where('zone_id', '=', zone.id)
      .returningAll()
      .executeTakeFirst();
    if (!removed) {
      throw new AppError(
        404,
        'ASSIGNMENT_NOT_FOUND',
        '该围栏未分配给此对象 / the zone is not assigned to this subject',
      );
    }
    await audit(trx, {
      actor: user,
      action: 'zone_assignment.delete',
      resourceType: 'subject',
      resourceId: subject.id,
      jurisdictionCode: subject.jurisdiction_code,
      detail: {
        zoneId: zone.id,
        scheduleOverride: removed.schedule_override,
        validFrom: isoOrNull(removed.valid_from),
        validTo: isoOrNull(removed.valid_to),
      },
      ip: ctx.ip,
    });
  });
}
