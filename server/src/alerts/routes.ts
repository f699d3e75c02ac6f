import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { ALERT_SEVERITIES, ALERT_STATUSES, ALERT_TYPES } from '@ccm/contracts';
import type { Alert, DB, Role } from '@ccm/db';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { notFound } from '../errors';
import { IdParams, IsoTime, Uuid, page } from '../http';
import { findAlertInScope, historyOf, listAlerts, notesFor } from './repository';
import { acknowledgeAlert, addAlertNote, assignAlert, resolveAlert } from './service';
import { AlertDetailView, AlertView, Resolution, alertView } from './view';

/** Who reads alerts (scoped by the alert's jurisdiction) and who works them. */
const READERS: readonly Role[] = ['admin', 'bureau', 'officer', 'auditor'];
const WRITERS: readonly Role[] = ['admin', 'bureau', 'officer'];

const BoolString = z.enum(['true', 'false']).transform((v) => v === 'true');
const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, '不能为空 / must not be empty')
    .max(max, `最多 ${max} 字 / at most ${max} characters`);

const AlertListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(300).optional(),
    status: z.enum(ALERT_STATUSES).optional(),
    type: z.enum(ALERT_TYPES).optional(),
    severity: z.enum(ALERT_SEVERITIES).optional(),
    subjectId: Uuid.optional(),
    assignedTo: Uuid.optional(),
    late: BoolString.optional(),
    from: IsoTime.optional().describe('raisedAt ≥ from'),
    to: IsoTime.optional().describe('raisedAt < to'),
    sort: z
      .enum(['severity', 'raisedAt'])
      .default('severity')
      .describe('severity: critical first, oldest first (default); raisedAt: newest first'),
  })
  .superRefine((q, ctx) => {
    if (q.from && q.to && Date.parse(q.to) <= Date.parse(q.from))
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'to 须晚于 from / to must be after from',
      });
  });

/** The alert as the API shows it after a change: with its notes. */
async function withNotes(db: Kysely<DB>, alert: Alert) {
  const notes = await notesFor(db, [alert.id]);
  return alertView(alert, notes.get(alert.id));
}

export function registerAlertRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const db = deps.db;

  r.get(
    '/api/v1/alerts',
    {
      config: { roles: READERS },
      schema: {
        summary: '告警列表 / alerts in scope (critical first, then oldest first, by default)',
        tags: ['alerts'],
        querystring: AlertListQuery,
        response: { 200: page(AlertView) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const q = request.query;
      const { rows, nextCursor } = await listAlerts(db, user, {
        ...q,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
      });
      const notes = await notesFor(
        db,
        rows.map((a) => a.id),
      );
      return { items: rows.map((a) => alertView(a, notes.get(a.id))), nextCursor };
    },
  );

  r.get(
    '/api/v1/alerts/:id',
    {
      config: { roles: READERS },
      schema: {
        summary: '告警详情（含备注与处置记录）/ one alert with its notes and full history',
        tags: ['alerts'],
        params: IdParams,
        response: { 200: AlertDetailView },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const alert = await findAlertInScope(db, user, request.params.id);
      if (!alert) throw notFound('ALERT_NOT_FOUND', '告警 / alert');
      const [notes, history] = await Promise.all([
        notesFor(db, [alert.id]),
        historyOf(db, alert.id),
      ]);
      return { ...alertView(alert, notes.get(alert.id)), history };
    },
  );

  r.post(
    '/api/v1/alerts/:id/acknowledge',
    {
      config: { roles: WRITERS },
      schema: {
        summary: '确认告警 / acknowledge an open alert',
        tags: ['alerts'],
        params: IdParams,
        response: { 200: AlertView },
      },
    },
    async (request) => {
      const alert = await acknowledgeAlert(
        db,
        { user: currentUser(request), ip: request.ip },
        request.params.id,
      );
      return withNotes(db, alert);
    },
  );

  r.post(
    '/api/v1/alerts/:id/assign',
    {
      config: { roles: WRITERS },
      schema: {
        summary:
          '指派告警 / assign to an officer or bureau user whose jurisdiction covers the alert',
        tags: ['alerts'],
        params: IdParams,
        body: z.object({ userId: Uuid }),
        response: { 200: AlertView },
      },
    },
    async (request) => {
      const alert = await assignAlert(
        db,
        { user: currentUser(request), ip: request.ip },
        request.params.id,
        request.body.userId,
      );
      return withNotes(db, alert);
    },
  );

  r.post(
    '/api/v1/alerts/:id/notes',
    {
      config: { roles: WRITERS },
      schema: {
        summary: '添加备注 / add a note to the alert’s history',
        tags: ['alerts'],
        params: IdParams,
        body: z.object({ text: Text(4000) }),
        response: { 201: AlertView },
      },
    },
    async (request, reply) => {
      const alert = await addAlertNote(
        db,
        { user: currentUser(request), ip: request.ip },
        request.params.id,
        request.body.text,
      );
      return reply.status(201).send(await withNotes(db, alert));
    },
  );

  r.post(
    '/api/v1/alerts/:id/resolve',
    {
      config: { roles: WRITERS },
      schema: {
        summary:
          '处置告警 / resolve with a note and a reason (tamper alerts need a reason other than "other")',
        tags: ['alerts'],
        params: IdParams,
        body: z.object({
          note: Text(4000),
          resolution: Resolution.default('other'),
        }),
        response: { 200: AlertView },
      },
    },
    async (request) => {
      const alert = await resolveAlert(
        db,
        { user: currentUser(request), ip: request.ip },
        request.params.id,
        request.body,
      );
      return withNotes(db, alert);
    },
  );
}
