import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, ZoneAssignmentsTable, ZonesTable } from '@ccm/db';
import { inScope } from '../auth/scope';
import type { AuthUser } from '../auth/types';

/** Queries of zones (电子围栏) and zone assignments; reads by id are scoped (else absent). */
type Db = Kysely<DB> | Transaction<DB>;

export type ZoneRow = Selectable<ZonesTable>;
export type AssignmentRow = Selectable<ZoneAssignmentsTable>;

export async function findZoneInScope(
  db: Db,
  user: AuthUser,
  zoneId: string,
  options: { forUpdate?: boolean } = {},
): Promise<ZoneRow | undefined> {
  let query = db
    .selectFrom('zones')
    .selectAll()
    .where('id', '=', zoneId)
    .where(inScope(user, 'zones.jurisdiction_code'));
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export interface ZoneFilters {
  kind?: ZoneRow['kind'] | undefined;
  purpose?: ZoneRow['purpose'] | undefined;
  subjectId?: string | undefined;
  /** [minLon, minLat, maxLon, maxLat]: zones whose box meets it. */
  bbox?: [number, number, number, number] | undefined;
  includeInactive?: boolean | undefined;
}

/** Zones in the user's scope, by name then id (keyset). */
export async function listZones(
  db: Db,
  user: AuthUser,
  filters: ZoneFilters,
  page: { limit: number; after?: { name: string; id: string } | undefined },
): Promise<ZoneRow[]> {
  let query = db
    .selectFrom('zones')
    .selectAll()
    .where(inScope(user, 'zones.jurisdiction_code'))
    .orderBy('name')
    .orderBy('id')
    .limit(page.limit + 1);
  if (!filters.includeInactive) query = query.where('active', '=', true);
  if (filters.kind) query = query.where('kind', '=', filters.kind);
  if (filters.purpose) query = query.where('purpose', '=', filters.purpose);
  if (filters.subjectId) query = query.where('subject_id', '=', filters.subjectId);
  if (filters.bbox) {
    const [minLon, minLat, maxLon, maxLat] = filters.bbox;
    query = query
      .where('max_lon', '>=', minLon)
      .where('min_lon', '<=', maxLon)
      .where('max_lat', '>=', minLat)
      .where('min_lat', '<=', maxLat);
  }
  const after = page.after;
  if (after) {
    query = query.where((eb) => eb(eb.refTuple('name', 'id'), '>', eb.tuple(after.name, after.id)));
  }
  return query.execute();
}

/** A jurisdiction node in the user's scope (its path), or undefined. */
export async function findJurisdictionInScope(db: Db, user: AuthUser, code: string) {
  return db
    .selectFrom('jurisdictions')
    .select(['code', 'path'])
    .where('code', '=', code)
    .where(inScope(user, 'jurisdictions.code'))
    .executeTakeFirst();
}

/** A subject in the user's scope with its jurisdiction path. */
export async function findSubjectWithPath(db: Db, user: AuthUser, subjectId: string) {
  return db
    .selectFrom('subjects as s')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .select(['s.id', 's.no', 's.jurisdiction_code', 'j.path'])
    .where('s.id', '=', subjectId)
    .where(inScope(user, 's.jurisdiction_code'))
    .executeTakeFirst();
}

export type SubjectZoneRow = ZoneRow & {
  a_subject_id: string | null;
  a_schedule_override: unknown;
  a_valid_from: Date | null;
  a_valid_to: Date | null;
  a_created_by: string | null;
  a_created_at: Date | null;
};

/**
 * Active zones that apply to a subject: assigned ones and the subject's own. They are
 * listed whatever node the zone belongs to (a county boundary drawn by the bureau applies
 * to a subject of a township office), because the subject is in the reader's scope.
 */
export async function listSubjectZones(
  db: Db,
  subjectId: string,
  page: { limit: number; after?: { name: string; id: string } | undefined },
): Promise<SubjectZoneRow[]> {
  let query = db
    .selectFrom('zones as z')
    .leftJoin('zone_assignments as a', (join) =>
      join.onRef('a.zone_id', '=', 'z.id').on('a.subject_id', '=', subjectId),
    )
    .selectAll('z')
    .select([
      'a.subject_id as a_subject_id',
      'a.schedule_override as a_schedule_override',
      'a.valid_from as a_valid_from',
      'a.valid_to as a_valid_to',
      'a.created_by as a_created_by',
      'a.created_at as a_created_at',
    ])
    .where('z.active', '=', true)
    .where((eb) => eb.or([eb('a.subject_id', 'is not', null), eb('z.subject_id', '=', subjectId)]))
    .orderBy('z.name')
    .orderBy('z.id')
    .limit(page.limit + 1);
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb(eb.refTuple('z.name', 'z.id'), '>', eb.tuple(after.name, after.id)),
    );
  }
  return query.execute() as Promise<SubjectZoneRow[]>;
}

export async function findAssignment(db: Db, subjectId: string, zoneId: string) {
  return db
    .selectFrom('zone_assignments')
    .selectAll()
    .where('subject_id', '=', subjectId)
    .where('zone_id', '=', zoneId)
    .executeTakeFirst();
}

/** Fixes of a subject inside [from, to] that fall inside one of the subject's orders. */
export async function fixesForReplay(
  db: Db,
  subject: { id: string; no: number },
  window: { from: Date; to: Date },
  max: number,
) {
  return (
    db
      .selectFrom('fixes as f')
      .select(['f.t', 'f.lat_e6', 'f.lon_e6', 'f.acc_dm', 'f.src', 'f.spd_cms', 'f.recv_lag_ms'])
      .where('f.subject_no', '=', subject.no)
      .where('f.t', '>=', window.from)
      .where('f.t', '<=', window.to)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('monitoring_orders as o')
            .select(sql.lit(1).as('one'))
            .where('o.subject_id', '=', subject.id)
            .whereRef('o.starts_at', '<=', 'f.t')
            .where(sql<boolean>`f.t < least(o.ends_at, coalesce(o.ended_at, o.ends_at))`),
        ),
      )
      // Newest first so that a cap keeps the most recent track; the caller reverses.
      .orderBy('f.t', 'desc')
      .limit(max + 1)
      .execute()
  );
}
