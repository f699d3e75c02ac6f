import { sql, type Expression, type SqlBool } from 'kysely';
import { AppError } from '../errors';
import type { AuthUser } from './types';

/**
 * Jurisdiction scoping: a user sees their node and everything below it. Every query that
 * reads rows of a jurisdiction filters with `inScope`; ids outside scope answer 404, the same
 * as ids that do not exist, so they cannot be probed.
 */
export function inScope(user: AuthUser, jurisdictionColumn: string): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(jurisdictionColumn)} IN (
    SELECT code FROM jurisdictions
    WHERE path = ${user.jurisdictionPath} OR path LIKE ${`${user.jurisdictionPath}.%`})`;
}

/** True when the dotted jurisdiction `path` is `rootPath` itself or a node below it. */
export const isPathWithin = (rootPath: string, path: string): boolean =>
  path === rootPath || path.startsWith(`${rootPath}.`);

/** True when `path` is the user's node or below it. */
export const pathInScope = (user: AuthUser, path: string): boolean =>
  isPathWithin(user.jurisdictionPath, path);

export const forbidden = (message = '无权执行此操作 / not allowed for your role') =>
  new AppError(403, 'FORBIDDEN', message);

export function requireRole(user: AuthUser, roles: readonly AuthUser['role'][]): void {
  if (!roles.includes(user.role)) throw forbidden();
}

/** ID-card numbers: shown in full only to roles that need them; otherwise 4…4 with stars. */
export function maskIdCard(id: string, user: AuthUser, fullRoles: readonly string[]): string {
  if (fullRoles.includes(user.role)) return id;
  return `${id.slice(0, 4)}${'*'.repeat(Math.max(0, id.length - 8))}${id.slice(-4)}`;
}

/**
 * The same node-and-below filter when the query already joins `jurisdictions`: `rootPath`
 * (a user's `jurisdictionPath`, or a node's path) against the joined dotted path column.
 */
export function pathWithin(rootPath: string, pathColumn: string): Expression<SqlBool> {
  return sql<SqlBool>`(${sql.ref(pathColumn)} = ${rootPath} OR ${sql.ref(pathColumn)} LIKE ${`${rootPath}.%`})`;
}
