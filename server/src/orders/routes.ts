import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { currentUser } from '../auth/plugin';
import type { FeatureDeps } from '../context';
import { AppError } from '../errors';
import { decodeCursor, IdParams, iso, page, PageQuery, toPage } from '../http';
import {
  findOrderInScope,
  findSubjectInScope,
  listExtensions,
  listOrdersOfSubject,
} from './repository';
import {
  ApproveExtensionBody,
  errorResponses,
  CreateOrderBody,
  EndOrderBody,
  ExtensionParams,
  ExtensionRequestBody,
  ExtensionView,
  OrderView,
  RejectExtensionBody,
} from './schemas';
import {
  createOrder,
  decideExtension,
  endOrder,
  orderNotFound,
  orderViews,
  requestExtension,
  subjectNotFound,
  toExtensionView,
} from './service';

/**
 * Who may do what with orders: the county bureau (head) decides; the township office reads
 * and asks for extensions; the procuratorate reads; police partners have no access.
 */
const READ = ['admin', 'bureau', 'officer', 'auditor'] as const;
const DECIDE = ['admin', 'bureau'] as const;
const REQUEST = ['admin', 'bureau', 'officer'] as const;
const TAGS = ['monitoring-orders'];

/** A keyset cursor whose value is an ISO time. */
function timeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (!cursor) return undefined;
  const { value, id } = decodeCursor(cursor);
  const at = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    throw new AppError(400, 'BAD_CURSOR', '分页游标无效 / invalid cursor');
  }
  return { at, id };
}

export function registerOrderRoutes(app: FastifyInstance, deps: FeatureDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const ctx = (ip: string) => ({ ip, now: new Date() });

  r.get(
    '/api/v1/subjects/:id/monitoring-orders',
    {
      config: { roles: READ },
      schema: {
        summary: '对象的电子定位决定 / monitoring orders of a subject (newest start first)',
        tags: TAGS,
        params: IdParams,
        querystring: PageQuery,
        response: { 200: page(OrderView), ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const user = currentUser(request);
      const subject = await findSubjectInScope(deps.db, user, request.params.id);
      if (!subject) throw subjectNotFound();
      const after = timeCursor(request.query.cursor);
      const rows = await listOrdersOfSubject(deps.db, subject, {
        limit: request.query.limit,
        ...(after ? { after: { startsAt: after.at, id: after.id } } : {}),
      });
      const paged = toPage(
        rows,
        request.query.limit,
        (o) => o,
        (o) => [iso(o.starts_at), o.id],
      );
      return {
        items: await orderViews(deps.db, paged.items, new Date()),
        nextCursor: paged.nextCursor,
      };
    },
  );

  r.post(
    '/api/v1/subjects/:id/monitoring-orders',
    {
      config: { roles: DECIDE },
      schema: {
        summary:
          '登记电子定位决定 / record an electronic-positioning order (Art. 29; at most 3 months)',
        tags: TAGS,
        params: IdParams,
        body: CreateOrderBody,
        response: { 201: OrderView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const view = await createOrder(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body,
        ctx(request.ip),
      );
      return reply.status(201).send(view);
    },
  );

  r.get(
    '/api/v1/monitoring-orders/:id',
    {
      config: { roles: READ },
      schema: {
        summary: '电子定位决定 / a monitoring order with its extensions',
        tags: TAGS,
        params: IdParams,
        response: { 200: OrderView, ...errorResponses(403, 404) },
      },
    },
    async (request) => {
      const order = await findOrderInScope(deps.db, currentUser(request), request.params.id);
      if (!order) throw orderNotFound();
      const [view] = await orderViews(deps.db, [order], new Date());
      return view!;
    },
  );

  r.post(
    '/api/v1/monitoring-orders/:id/end',
    {
      config: { roles: DECIDE },
      schema: {
        summary: '解除电子定位 / end an order early (as soon as it is no longer needed)',
        tags: TAGS,
        params: IdParams,
        body: EndOrderBody,
        response: { 200: OrderView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      endOrder(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body.reason,
        ctx(request.ip),
      ),
  );

  r.get(
    '/api/v1/monitoring-orders/:id/extensions',
    {
      config: { roles: READ },
      schema: {
        summary: '延期申请 / extension requests of an order (newest first)',
        tags: TAGS,
        params: IdParams,
        querystring: PageQuery,
        response: { 200: page(ExtensionView), ...errorResponses(400, 403, 404) },
      },
    },
    async (request) => {
      const order = await findOrderInScope(deps.db, currentUser(request), request.params.id);
      if (!order) throw orderNotFound();
      const after = timeCursor(request.query.cursor);
      const rows = await listExtensions(deps.db, order.id, {
        limit: request.query.limit,
        ...(after ? { after: { requestedAt: after.at, id: after.id } } : {}),
      });
      return toPage(rows, request.query.limit, toExtensionView, (e) => [iso(e.requested_at), e.id]);
    },
  );

  r.post(
    '/api/v1/monitoring-orders/:id/extensions',
    {
      config: { roles: REQUEST },
      schema: {
        summary: '申请延期 / request an extension (new end at most 3 months after the current end)',
        tags: TAGS,
        params: IdParams,
        body: ExtensionRequestBody,
        response: { 201: ExtensionView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const view = await requestExtension(
        deps.db,
        currentUser(request),
        request.params.id,
        request.body,
        ctx(request.ip),
      );
      return reply.status(201).send(view);
    },
  );

  r.post(
    '/api/v1/monitoring-orders/:id/extensions/:extId/approve',
    {
      config: { roles: DECIDE },
      schema: {
        summary: '批准延期 / approve an extension (moves the order’s end)',
        tags: TAGS,
        params: ExtensionParams,
        body: ApproveExtensionBody.optional(),
        response: { 200: OrderView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      decideExtension(
        deps.db,
        currentUser(request),
        { orderId: request.params.id, extensionId: request.params.extId },
        { approve: true, note: request.body?.note },
        ctx(request.ip),
      ),
  );

  r.post(
    '/api/v1/monitoring-orders/:id/extensions/:extId/reject',
    {
      config: { roles: DECIDE },
      schema: {
        summary: '驳回延期 / reject an extension (a note is required)',
        tags: TAGS,
        params: ExtensionParams,
        body: RejectExtensionBody,
        response: { 200: OrderView, ...errorResponses(400, 403, 404, 409) },
      },
    },
    async (request) =>
      decideExtension(
        deps.db,
        currentUser(request),
        { orderId: request.params.id, extensionId: request.params.extId },
        { approve: false, note: request.body.note },
        ctx(request.ip),
      ),
  );
}
