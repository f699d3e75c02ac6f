import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Role } from '@ccm/db';
import { audit } from '../audit/audit';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { notFound } from '../errors';
import { IdParams, iso, page, PageQuery, toPage } from '../http';
import { JURISDICTION_CODE_PATTERN } from '../jurisdictions/shared';
import { createUser, getUser, listUsers, updateUser, type UserRow } from './service';

const READ_ROLES: readonly Role[] = ['admin', 'bureau', 'auditor'];
const WRITE_ROLES: readonly Role[] = ['admin', 'bureau'];

const RoleEnum = z
  .enum(['admin', 'bureau', 'officer', 'police', 'auditor'])
  .describe(
    'admin 平台管理员, bureau 司法局, officer 司法所, police 公安协查, auditor 检察监督 (read-only)',
  );
const Username = z
  .string()
  .regex(
    /^[A-Za-z0-9_.@-]{3,64}$/,
    '用户名为 3–64 位字母、数字或 _.@- / 3–64 letters, digits or _.@-',
  );
const DisplayName = z.string().trim().min(1).max(100);
const JurisdictionCode = z
  .string()
  .regex(JURISDICTION_CODE_PATTERN, '辖区代码为 6 位或 9 位数字 / 6 or 9 digits');
const Password = z.string().min(12, '密码至少 12 位 / at least 12 characters').max(256);

export const ManagedUserView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: RoleEnum,
  jurisdictionCode: z.string(),
  disabled: z.boolean(),
  lockedUntil: z.string().nullable().describe('set after repeated failed sign-ins'),
  totpEnabled: z.boolean(),
  passwordChangedAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const view = (u: UserRow): z.infer<typeof ManagedUserView> => ({
  id: u.id,
  username: u.username,
  displayName: u.display_name,
  role: u.role,
  jurisdictionCode: u.jurisdiction_code,
  disabled: u.disabled,
  lockedUntil: u.locked_until && u.locked_until > new Date() ? iso(u.locked_until) : null,
  totpEnabled: u.totp_enabled,
  passwordChangedAt: iso(u.password_changed_at),
  createdAt: iso(u.created_at),
  updatedAt: iso(u.updated_at),
});

const userNotFound = () => notFound('USER_NOT_FOUND', '用户 / user');

/**
 * `/users`: accounts in the caller's scope. Admins manage anyone in scope; a bureau manages
 * officer, police and auditor accounts at or below its node and bureau accounts below it;
 * auditors read. Passwords are never returned; every change is audited.
 */
export function registerUserRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/users',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '用户列表 / accounts at and below your node (by username)',
        tags: ['users'],
        querystring: PageQuery.extend({
          role: RoleEnum.optional(),
          jurisdictionCode: JurisdictionCode.optional().describe('this node and below'),
          disabled: z.enum(['true', 'false']).optional(),
          q: z.string().trim().min(1).max(100).optional().describe('username or display name'),
        }),
        response: { 200: page(ManagedUserView) },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listUsers(deps.db, currentUser(request), q);
      return toPage(rows, q.limit, view, (u) => [u.username, u.id]);
    },
  );

  r.get(
    '/api/v1/users/:id',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: '用户详情 / one account',
        tags: ['users'],
        params: IdParams,
        response: { 200: ManagedUserView },
      },
    },
    async (request) => {
      const row = await getUser(deps.db, currentUser(request), request.params.id);
      if (!row) throw userNotFound();
      return view(row);
    },
  );

  r.post(
    '/api/v1/users',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '新建用户 / create an account (admin; bureau within its rules)',
        tags: ['users'],
        body: z.object({
          username: Username,
          displayName: DisplayName,
          role: RoleEnum,
          jurisdictionCode: JurisdictionCode,
          password: Password,
        }),
        response: { 201: ManagedUserView },
      },
    },
    async (request, reply) => {
      const actor = currentUser(request);
      const created = await deps.db.transaction().execute(async (trx) => {
        const row = await createUser(trx, actor, request.body);
        await audit(trx, {
          actor,
          action: 'user.create',
          resourceType: 'user',
          resourceId: row.id,
          jurisdictionCode: row.jurisdiction_code,
          detail: { username: row.username, role: row.role },
          ip: request.ip,
        });
        return row;
      });
      return reply.status(201).send(view(created));
    },
  );

  r.patch(
    '/api/v1/users/:id',
    {
      config: { roles: WRITE_ROLES },
      schema: {
        summary: '修改用户 / change, disable, unlock or reset the password of an account',
        tags: ['users'],
        params: IdParams,
        body: z
          .object({
            displayName: DisplayName.optional(),
            role: RoleEnum.optional(),
            jurisdictionCode: JurisdictionCode.optional(),
            disabled: z.boolean().optional().describe('true also signs the user out everywhere'),
            unlock: z.literal(true).optional().describe('clears a lockout after failed sign-ins'),
            password: Password.optional().describe('new password; signs the user out everywhere'),
          })
          .refine((b) => Object.values(b).some((v) => v !== undefined), {
            message: '至少修改一项 / give at least one field',
          }),
        response: { 200: ManagedUserView },
      },
    },
    async (request) => {
      const actor = currentUser(request);
      const updated = await deps.db.transaction().execute(async (trx) => {
        const result = await updateUser(trx, actor, request.params.id, request.body);
        if (!result) throw userNotFound();
        if (Object.keys(result.diff).length > 0) {
          await audit(trx, {
            actor,
            action: 'user.update',
            resourceType: 'user',
            resourceId: result.after.id,
            jurisdictionCode: result.after.jurisdiction_code,
            detail: {
              username: result.after.username,
              changes: result.diff,
              sessionsRevoked: result.sessionsRevoked,
            },
            ip: request.ip,
          });
        }
        return result.after;
      });
      return view(updated);
    },
  );
}
