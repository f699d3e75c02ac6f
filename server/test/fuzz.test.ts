import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from './support';

/**
 * Property-based fuzzing of every write route, from the published OpenAPI document: bodies
 * generated both as arbitrary JSON and as objects with the schema's own property names but
 * values of the wrong kinds, with random ids. Whatever comes in, the server answers a 4xx
 * with the error shape (or a 2xx for the rare valid body), never a 5xx, and a refused request
 * writes no audit entry (bad input changes nothing).
 *
 * What it reaches: body/query/param validation, the role check and scope lookups (404) of
 * every route. It rarely gets past them into a handler (random ids and junk values seldom
 * name a real entity); schema-valid bodies on real ids are the next step.
 */
type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[] };
interface Operation {
  method: 'post' | 'put' | 'patch';
  path: string;
  body?: Schema;
}

const WRITE_METHODS = ['post', 'put', 'patch'] as const;
// Routes whose job is to change credentials or sessions of the caller: fuzzing them would
// sign the fuzzing user out (logout, password) or set up a second factor.
const SKIP = new Set([
  '/api/v1/auth/logout',
  '/api/v1/auth/password',
  '/api/v1/auth/totp/setup',
  '/api/v1/auth/totp/enable',
]);

function operations(doc: {
  paths: Record<
    string,
    Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>
  >;
}): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/v1/') || SKIP.has(path)) continue;
    for (const method of WRITE_METHODS) {
      const op = item[method];
      if (!op) continue;
      const body = op.requestBody?.content?.['application/json']?.schema;
      ops.push({ method, path, ...(body ? { body } : {}) });
    }
  }
  return ops;
}

const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.constant('1e309'),
  fc.constant('../../etc/passwd'),
  fc.constant("'; drop table alerts; --"),
  fc.constant('2026-13-45T99:99:99Z'),
  fc.constant({ type: 'Polygon', coordinates: [[[0, 0]]] }),
);

/** Objects with the schema's property names (so validation goes deep) and junk values. */
const shaped = (schema: Schema | undefined) =>
  schema?.properties
    ? fc.record(Object.fromEntries(Object.keys(schema.properties).map((k) => [k, junk])), {
        requiredKeys: [],
      })
    : fc.object({ maxDepth: 2 });

const fillPath = (path: string, id: string) => path.replace(/\{[^}]+\}/g, id);

describe('fuzzing every write route from its schema', () => {
  let s: TestServer;
  let ops: Operation[];
  beforeAll(async () => {
    s = await startTestServer();
    const doc = (await s.app.inject('/api/v1/openapi.json')).json();
    ops = operations(doc);
  });
  afterAll(async () => s?.close());

  // A failed sign-in is the one refusal that is audited on purpose (a security event: who
  // tried which username from where); every other refused request must leave no entry.
  const SECURITY_EVENTS = ['auth.login_failed', 'auth.account_locked'];
  const auditCount = async () =>
    Number(
      (
        await s.db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('action', 'not in', SECURITY_EVENTS)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('finds the write routes in the OpenAPI document', () => {
    expect(ops.length).toBeGreaterThan(20);
    expect(ops.map((o) => o.path)).toEqual(
      expect.arrayContaining(['/api/v1/zones', '/api/v1/subjects', '/api/v1/alerts/{id}/resolve']),
    );
  });

  it('never answers 5xx, always the error shape, and a refused request audits nothing', async () => {
    const users: TestUser[] = ['admin', 'bureauA', 'officerA', 'policeA', 'auditorA'];
    const ids = fc.oneof(
      fc.uuid(),
      fc.constant('wb-0001'),
      fc.constant('450103'),
      fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent),
    );
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...users),
          ids,
          fc.oneof(shaped(op.body), fc.jsonValue()),
          async (user, id, body) => {
            const before = await auditCount();
            const res = await s.as(user, {
              method: op.method.toUpperCase() as 'POST',
              url: fillPath(op.path, id),
              payload: body as object,
            });
            const where = `${op.method.toUpperCase()} ${op.path} as ${user} with ${JSON.stringify(body).slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 200)}`;
            expect(res.statusCode, where).toBeLessThan(500);
            if (res.statusCode >= 400) {
              const error = res.json().error;
              expect(typeof error?.code, where).toBe('string');
              expect(typeof error?.message, where).toBe('string');
              const after = await auditCount();
              expect(after, `${where}: a refused request wrote to the audit log`).toBe(before);
            }
          },
        ),
        { numRuns: 12 },
      );
    }
  });
});
