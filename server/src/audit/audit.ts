import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '@ccm/db';
import type { AuthUser } from '../auth/types';

/**
 * The audit trail: append-only (a trigger refuses UPDATE/DELETE/TRUNCATE) and hash-chained:
 * each entry's hash covers the previous entry's hash and the entry's own canonical content,
 * so editing or removing any row breaks the chain at that row (`verifyAuditChain`).
 * Appends take a transaction-scoped advisory lock, so the chain has one writer at a time
 * (`audit_append`, migration 0014).
 */
export interface AuditEntry {
  actor: Pick<AuthUser, 'id' | 'username' | 'role'> | null;
  action: string;
  resourceType?: string | null;
  resourceId?: string | null;
  jurisdictionCode?: string | null;
  detail?: Record<string, unknown>;
  ip?: string | null;
}

export const GENESIS_HASH = '0'.repeat(64);

/** An object's members as canonical JSON, sorted by key (undefined members left out). */
function canonicalMembers(value: Record<string, unknown>): [key: string, member: string][] {
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, `${JSON.stringify(k)}:${canonicalJson(v)}`]);
}

/** JSON with sorted keys at every level: the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  return `{${canonicalMembers(value as Record<string, unknown>)
    .map(([, m]) => m)
    .join(',')}}`;
}

interface HashedFields {
  at: string;
  actor_id: string | null;
  actor_username: string | null;
  actor_role: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  jurisdiction_code: string | null;
  detail: unknown;
  ip: string | null;
}

export const entryHash = (prevHash: string, fields: HashedFields): string =>
  createHash('sha256').update(prevHash).update('\n').update(canonicalJson(fields)).digest('hex');

/**
 * `canonicalJson(fields)` cut where `at`'s value goes: the text before it (ending in `"at":"`)
 * and after it (starting with the closing quote). The database fills in `at`, taken under the
 * chain's lock (migration 0014), and hashes the whole.
 */
export function canonicalAroundAt(fields: Omit<HashedFields, 'at'>): [string, string] {
  const members = canonicalMembers(fields as unknown as Record<string, unknown>);
  const before = members.filter(([k]) => k < 'at').map(([, m]) => `${m},`);
  const after = members.filter(([k]) => k > 'at').map(([, m]) => `,${m}`);
  return [`{${before.join('')}"at":"`, `"${after.join('')}}`];
}

/**
 * Appends one entry: inside `db` when it is a transaction (the entry commits with the change
 * it records), otherwise on its own, committed at once. One call (`audit_append`, migration
 * 0014) takes the chain's lock, reads the last hash and inserts, so the lock is held for no
 * round trip between the application and the database.
 */
export async function audit(db: Kysely<DB> | Transaction<DB>, entry: AuditEntry): Promise<void> {
  const fields: Omit<HashedFields, 'at'> = {
    actor_id: entry.actor?.id ?? null,
    actor_username: entry.actor?.username ?? null,
    actor_role: entry.actor?.role ?? null,
    action: entry.action,
    resource_type: entry.resourceType ?? null,
    resource_id: entry.resourceId ?? null,
    jurisdiction_code: entry.jurisdictionCode ?? null,
    detail: entry.detail ?? {},
    ip: entry.ip ?? null,
  };
  const [head, tail] = canonicalAroundAt(fields);
  await sql`SELECT audit_append(${fields.actor_id}::uuid, ${fields.actor_username},
    ${fields.actor_role}, ${fields.action}, ${fields.resource_type}, ${fields.resource_id},
    ${fields.jurisdiction_code}, ${JSON.stringify(fields.detail)}::jsonb, ${fields.ip},
    ${head}, ${tail})`.execute(db);
}

export interface ChainReport {
  ok: boolean;
  entries: number;
  /** The first entry whose hash does not match its content and predecessor. */
  brokenAt?: { id: number; reason: 'hash_mismatch' | 'prev_hash_mismatch' };
}

/** Recomputes the chain from the start, in pages. */
export async function verifyAuditChain(db: Kysely<DB>): Promise<ChainReport> {
  let prevHash = GENESIS_HASH;
  let lastId = 0;
  let entries = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>', lastId)
      .orderBy('id')
      .limit(2000)
      .execute();
    if (rows.length === 0) return { ok: true, entries };
    for (const r of rows) {
      entries++;
      if (r.prev_hash !== prevHash) {
        return { ok: false, entries, brokenAt: { id: r.id, reason: 'prev_hash_mismatch' } };
      }
      const fields: HashedFields = {
        at: r.at.toISOString(),
        actor_id: r.actor_id,
        actor_username: r.actor_username,
        actor_role: r.actor_role,
        action: r.action,
        resource_type: r.resource_type,
        resource_id: r.resource_id,
        jurisdiction_code: r.jurisdiction_code,
        detail: r.detail,
        ip: r.ip,
      };
      if (entryHash(prevHash, fields) !== r.hash) {
        return { ok: false, entries, brokenAt: { id: r.id, reason: 'hash_mismatch' } };
      }
      prevHash = r.hash;
      lastId = r.id;
    }
  }
}
