import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { DB, Role } from '@ccm/db';
import {
  openTestDatabase,
  seedJurisdictions,
  TOWNSHIP,
  type Backend,
  type TestDatabase,
} from '@ccm/test-support';
import { buildApp } from '../src/app';
import { hashPassword } from '../src/auth/password';
import { registerAuth } from '../src/auth/plugin';
import type { FeatureDeps, ServerSettings } from '../src/context';
import { featureRoutes } from '../src/features';

/**
 * A server for feature tests: the real app, auth and routes on a fresh database, with a
 * jurisdiction tree of two branches and a user of every role in each:
 *
 *   450000 广西 ─ 450100 南宁市 ─┬─ 450103 青秀区 ─ 450103001 新竹司法所   ("A" side)
 *                               └─ 450105 江南区 ─ 450105001 福建园司法所 ("B" side)
 *
 * Users (password `Passw0rd-for-tests`): admin (450000); bureauA, policeA, auditorA (450103);
 * officerA (450103001); bureauB, policeB, auditorB (450105); officerB (450105001).
 */
export const PASSWORD = 'Passw0rd-for-tests';
export const A = { county: '450103', township: TOWNSHIP } as const;
export const B = { county: '450105', township: '450105001' } as const;

export const USERS = {
  admin: { role: 'admin', jurisdiction: '450000' },
  bureauA: { role: 'bureau', jurisdiction: A.county },
  policeA: { role: 'police', jurisdiction: A.county },
  auditorA: { role: 'auditor', jurisdiction: A.county },
  officerA: { role: 'officer', jurisdiction: A.township },
  bureauB: { role: 'bureau', jurisdiction: B.county },
  policeB: { role: 'police', jurisdiction: B.county },
  auditorB: { role: 'auditor', jurisdiction: B.county },
  officerB: { role: 'officer', jurisdiction: B.township },
} as const satisfies Record<string, { role: Role; jurisdiction: string }>;
export type TestUser = keyof typeof USERS;

export const TEST_SETTINGS: ServerSettings = {
  auth: {
    sessionTtlHours: 12,
    maxFailures: 5,
    failureWindowMinutes: 15,
    lockoutMinutes: 15,
    totpRequiredRoles: [],
  },
  idCardFullRoles: ['officer', 'bureau', 'police'],
  escalateAfterMinutes: 15,
};

export interface TestServer {
  app: FastifyInstance;
  db: Kysely<DB>;
  t: TestDatabase;
  userIds: Record<TestUser, string>;
  /** Bearer tokens, one signed-in session per test user. */
  tokens: Record<TestUser, string>;
  /** `app.inject` as a test user. */
  as(user: TestUser, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Side A (province → city → 青秀区 → 新竹司法所) is test-support's tree; side B is added here. */
export async function seedTree(db: Kysely<DB>) {
  await seedJurisdictions(db);
  await db
    .insertInto('jurisdictions')
    .values([
      {
        code: B.county,
        parent_code: '450100',
        level: 'county',
        name_zh: '江南区',
        name_en: 'Jiangnan',
        path: `450000.450100.${B.county}`,
      },
      {
        code: B.township,
        parent_code: B.county,
        level: 'township',
        name_zh: '福建园司法所',
        name_en: 'Fujianyuan Office',
        path: `450000.450100.${B.county}.${B.township}`,
      },
    ])
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
}

export async function startTestServer(
  options: {
    backend?: Backend;
    settings?: Partial<ServerSettings>;
    extra?: Partial<FeatureDeps>;
  } = {},
): Promise<TestServer> {
  const t = await openTestDatabase(options.backend ?? 'postgres');
  const db = t.database.db;
  await seedTree(db);
  const hash = await hashPassword(PASSWORD);
  const userIds = {} as Record<TestUser, string>;
  for (const [username, u] of Object.entries(USERS)) {
    const row = await db
      .insertInto('users')
      .values({
        username,
        display_name: username,
        role: u.role,
        jurisdiction_code: u.jurisdiction,
        password_hash: hash,
        totp_secret: null,
        locked_until: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    userIds[username as TestUser] = row.id;
  }
  const deps: FeatureDeps = {
    db,
    settings: { ...TEST_SETTINGS, ...options.settings },
    ...options.extra,
  };
  const app = await buildApp({
    health: async () => {
      throw new Error('not used in feature tests');
    },
    auth: (a) => registerAuth(a, db),
    routes: featureRoutes(deps),
  });
  const tokens = {} as Record<TestUser, string>;
  for (const username of Object.keys(USERS) as TestUser[]) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password: PASSWORD },
    });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.body}`);
    tokens[username] = res.json().token;
  }
  return {
    app,
    db,
    t,
    userIds,
    tokens,
    as: (user, opts) =>
      app.inject({
        ...opts,
        headers: { ...(opts.headers ?? {}), authorization: `Bearer ${tokens[user]}` },
      }),
    async close() {
      await app.close();
      await t.dispose();
    },
  };
}

export const ALL_USERS = Object.keys(USERS) as TestUser[];
export type StatusMatrix = Record<TestUser, number>;

/**
 * The access matrix: makes the call once as every test user (`i` is the user's index, for
 * unique names) and checks that each got exactly the expected status.
 */
export async function expectMatrix(
  expected: StatusMatrix,
  call: (user: TestUser, i: number) => Promise<LightMyRequestResponse>,
): Promise<void> {
  const got = {} as StatusMatrix;
  for (const [i, user] of ALL_USERS.entries()) got[user] = (await call(user, i)).statusCode;
  expect(got).toEqual(expected);
}
