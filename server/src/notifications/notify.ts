import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, NotificationsTable } from '@ccm/db';

type Db = Kysely<DB> | Transaction<DB>;

export interface Notice {
  kind: NotificationsTable['kind'];
  /** "中文 / English", shown as the notice's title. */
  title: string;
  body?: string;
  subjectId?: string | null;
  refId?: string | null;
  /** The same key is delivered once per user, however often a rule runs. */
  dedupeKey: string;
}

/**
 * Who hears about a subject: their own officer, or (when none is set or that account is
 * disabled) every active officer of the subject's office; `bureau` adds the county bureau's
 * users above it (for decisions that are theirs, such as a long leave).
 */
export async function recipientsFor(
  db: Db,
  subjectId: string,
  options: { bureau?: boolean } = {},
): Promise<string[]> {
  const subject = await db
    .selectFrom('subjects as s')
    .innerJoin('jurisdictions as j', 'j.code', 's.jurisdiction_code')
    .leftJoin('users as u', (join) =>
      join.onRef('u.id', '=', 's.officer_id').on('u.disabled', '=', false),
    )
    .select(['s.jurisdiction_code', 'j.path', 'u.id as officer_id'])
    .where('s.id', '=', subjectId)
    .executeTakeFirst();
  if (!subject) return [];
  const ids = new Set<string>();
  if (subject.officer_id) ids.add(subject.officer_id);
  else {
    const officers = await db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'officer')
      .where('disabled', '=', false)
      .where('jurisdiction_code', '=', subject.jurisdiction_code)
      .execute();
    for (const o of officers) ids.add(o.id);
  }
  if (options.bureau) {
    // Bureau users whose node is an ancestor of the subject's office.
    const bureau = await db
      .selectFrom('users as u')
      .innerJoin('jurisdictions as j', 'j.code', 'u.jurisdiction_code')
      .select('u.id')
      .where('u.role', '=', 'bureau')
      .where('u.disabled', '=', false)
      .where(sql<boolean>`${subject.path} LIKE j.path || '.%'`)
      .execute();
    for (const b of bureau) ids.add(b.id);
  }
  return [...ids];
}

/** Delivers the notice to each user once (per dedupe key) and tells live clients. */
export async function notify(db: Db, userIds: readonly string[], notice: Notice): Promise<number> {
  if (userIds.length === 0) return 0;
  const rows = await db
    .insertInto('notifications')
    .values(
      userIds.map((userId) => ({
        user_id: userId,
        kind: notice.kind,
        title: notice.title,
        body: notice.body ?? '',
        subject_id: notice.subjectId ?? null,
        ref_id: notice.refId ?? null,
        dedupe_key: `${notice.dedupeKey}:${userId}`,
      })),
    )
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('user_id')
    .execute();
  if (rows.length === 0) return 0;
  // The live stream tells these users' dashboards to fetch their notices (it carries no
  // content: the notice is read through the API, in scope).
  await db
    .insertInto('outbox')
    .values({
      topic: 'notification',
      payload: JSON.stringify({ userIds: rows.map((r) => r.user_id), kind: notice.kind }),
    })
    .execute();
  await sql`SELECT pg_notify('ccm_outbox', '1')`.execute(db);
  return rows.length;
}
