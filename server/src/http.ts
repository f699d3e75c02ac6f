import { z } from 'zod';
import { AppError } from './errors';
import { isoTime } from './iso-time';

/**
 * Shapes every route shares: ids, ISO times, cursor pages. Lists answer
 * `{"items":[…],"nextCursor":…}` (http-api.md); a cursor is opaque to clients.
 */
export const Uuid = z.string().uuid('必须是 UUID / must be a UUID');
export const IdParams = z.object({ id: Uuid });
/** ISO 8601 instant in UTC on the wire. */
export const IsoTime = z
  .string()
  .datetime({ offset: true, message: '必须是 ISO 8601 时间 / must be an ISO 8601 time' });
export const iso = (d: Date) => isoTime(d);
export const isoOrNull = (d: Date | null) => (d ? isoTime(d) : null);

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Keyset cursor over (sort value, id): base64url JSON. */
export function encodeCursor(value: string | number, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { value: string | number; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      (typeof parsed[0] === 'string' || typeof parsed[0] === 'number') &&
      typeof parsed[1] === 'string'
    ) {
      return { value: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
}

/** Takes `limit + 1` rows' worth of results and returns the page and the next cursor. */
export function toPage<R, V>(
  rows: R[],
  limit: number,
  view: (r: R) => V,
  key: (r: R) => [string | number, string],
) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    nextCursor: rows.length > limit && last ? encodeCursor(...key(last)) : null,
  };
}
