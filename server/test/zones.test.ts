import type { LightMyRequestResponse } from 'fastify';
import type { Insertable, Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB, FixesTable } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { A, B, expectMatrix, startTestServer, type TestServer, type TestUser } from './support';

const DAY = 86_400_000;
const MIN = 60_000;
// A 0.02° square around 青秀区 (≈ 2.2 km × 2 km); its east edge is lon 108.38.
const SQUARE = {
  type: 'Polygon',
  coordinates: [
    [
      [108.36, 22.81],
      [108.38, 22.81],
      [108.38, 22.83],
      [108.36, 22.83],
      [108.36, 22.81],
    ],
  ],
} as const;
const CENTER = [108.37, 22.82] as const;

let seq = 0;
async function seedSubject(db: Kysely<DB>, township: string) {
  seq++;
  return db
    .insertInto('subjects')
    .values({
      name: `围栏测试${seq}`,
      id_card_no: syntheticIdCardNo(township.slice(0, 6), '1991-05-06', seq),
      correction_type: 'parole',
      term_start: '2026-01-01',
      term_end: '2030-12-31',
      jurisdiction_code: township,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
}

/** A subject with a wristband and a monitoring order over [startsAt, endsAt). */
async function seedMonitored(
  db: Kysely<DB>,
  window: { startsAt: Date; endsAt: Date; endedAt?: Date },
) {
  const subject = await seedSubject(db, A.township);
  const device = await db
    .insertInto('devices')
    .values({
      id: `zone-dev-${seq}`,
      kind: 'wristband',
      secret_hash: hashDeviceSecret('not-a-real-secret'),
      jurisdiction_code: A.township,
    })
    .returning(['id', 'no'])
    .executeTakeFirstOrThrow();
  await db
    .insertInto('monitoring_orders')
    .values({
      subject_id: subject.id,
      device_id: device.id,
      legal_ground: 'left_without_approval',
      approver_name: '王局长',
      approved_at: window.startsAt,
      starts_at: window.startsAt,
      initial_ends_at: window.endsAt,
      ends_at: window.endsAt,
      ended_at: window.endedAt ?? null,
      end_reason: window.endedAt ? '已无必要' : null,
    })
    .execute();
  return { subjectId: subject.id, subjectNo: subject.no, deviceNo: device.no };
}

interface TrackPoint {
  t: number;
  lon: number;
  lat: number;
  accM?: number;
  src?: 0 | 1 | 2;
  lagMs?: number;
}

async function insertFixes(
  db: Kysely<DB>,
  who: { subjectNo: number; deviceNo: number },
  track: TrackPoint[],
) {
  const rows: Insertable<FixesTable>[] = track.map((p) => ({
    device_no: who.deviceNo,
    subject_no: who.subjectNo,
    t: new Date(p.t),
    lat_e6: Math.round(p.lat * 1e6),
    lon_e6: Math.round(p.lon * 1e6),
    acc_dm: Math.round((p.accM ?? 5) * 10),
    src: p.src ?? 0,
    spd_cms: null,
    hdg_deg: null,
    sat: null,
    recv_lag_ms: p.lagMs ?? 2_000,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('fixes')
      .values(rows.slice(i, i + 500))
      .execute();
  }
}

const READERS_OF_A = {
  admin: 200,
  bureauA: 200,
  policeA: 403,
  auditorA: 200,
  officerA: 200,
  bureauB: 404,
  policeB: 403,
  auditorB: 404,
  officerB: 404,
} as const;

const writersOfA = (ok: number) =>
  ({
    admin: ok,
    bureauA: ok,
    policeA: 403,
    auditorA: 403,
    officerA: ok,
    bureauB: 404,
    policeB: 403,
    auditorB: 403,
    officerB: 404,
  }) as const;

describe('zones', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s?.close());

  const zoneBody = (overrides: Record<string, unknown> = {}) => ({
    name: '居住地所在区',
    kind: 'inclusion',
    purpose: 'county',
    geometry: SQUARE,
    bufferM: 30,
    schedule: null,
    jurisdictionCode: A.township,
    ...overrides,
  });
  const createZone = (user: TestUser, overrides: Record<string, unknown> = {}) =>
    s.as(user, { method: 'POST', url: '/api/v1/zones', payload: zoneBody(overrides) });
  const newZoneId = async (overrides: Record<string, unknown> = {}) => {
    const res = await createZone('bureauA', overrides);
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  };

  describe('access', () => {
    it('create, read, change and delete follow roles and scope', async () => {
      await expectMatrix(writersOfA(201), (u) => createZone(u));
      const zoneId = await newZoneId();
      await expectMatrix(READERS_OF_A, (u) => s.as(u, { url: `/api/v1/zones/${zoneId}` }));
      await expectMatrix(writersOfA(200), (u) =>
        s.as(u, { method: 'PATCH', url: `/api/v1/zones/${zoneId}`, payload: { bufferM: 25 } }),
      );
      await expectMatrix(writersOfA(204), async (u) =>
        s.as(u, { method: 'DELETE', url: `/api/v1/zones/${await newZoneId()}` }),
      );
      const missing = await s.as('admin', {
        url: '/api/v1/zones/00000000-0000-4000-8000-000000000000',
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('ZONE_NOT_FOUND');
    });

    it('lists only zones in scope: side B never sees side A', async () => {
      const a = await newZoneId({ name: 'A 区围栏' });
      const bRes = await createZone('bureauB', { name: 'B 区围栏', jurisdictionCode: B.county });
      expect(bRes.statusCode).toBe(201);
      const b = bRes.json().id as string;
      const ids = async (u: TestUser) => {
        const res = await s.as(u, { url: '/api/v1/zones?limit=500' });
        expect(res.statusCode).toBe(200);
        return (res.json().items as { id: string; jurisdictionCode: string }[]).map((z) => z.id);
      };
      for (const u of ['bureauB', 'auditorB'] as const) {
        const seen = await ids(u);
        expect(seen).toContain(b);
        expect(seen).not.toContain(a);
      }
      // officerB sits below B's county: neither the county zone nor A's.
      expect(await ids('officerB')).toEqual([]);
      for (const u of ['bureauA', 'auditorA', 'officerA'] as const) {
        const seen = await ids(u);
        expect(seen).toContain(a);
        expect(seen).not.toContain(b);
      }
      expect(await ids('admin')).toEqual(expect.arrayContaining([a, b]));
      for (const u of ['policeA', 'policeB'] as const) {
        expect((await s.as(u, { url: '/api/v1/zones' })).statusCode).toBe(403);
      }
    });

    it('an officer cannot place a zone above their own office', async () => {
      const res = await createZone('officerA', { jurisdictionCode: A.county });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('JURISDICTION_NOT_FOUND');
      const defaulted = await createZone('officerA', { jurisdictionCode: undefined });
      expect(defaulted.statusCode).toBe(201);
      expect(defaulted.json().jurisdictionCode).toBe(A.township);
    });
  });

  describe('geometry and schedule', () => {
    it('rejects a bow-tie polygon, saying where it crosses itself', async () => {
      const bowTie = {
        type: 'Polygon',
        coordinates: [
          [
            [108.36, 22.81],
            [108.38, 22.83],
            [108.38, 22.81],
            [108.36, 22.83],
            [108.36, 22.81],
          ],
        ],
      };
      const res = await createZone('officerA', { geometry: bowTie });
      expect(res.statusCode).toBe(400);
      const error = res.json().error;
      expect(error.code).toBe('INVALID_GEOMETRY');
      expect(error.message).toContain('自相交');
      expect(error.message).toContain('ring 0, segments 0 and 2 near [108.37,22.82]');
      expect(error.details.problems[0]).toMatchObject({
        code: 'ring_self_intersects',
        ring: 0,
        segments: [0, 2],
      });
    });

    it('rejects an open ring, naming the ring and its ends', async () => {
      const open = {
        type: 'Polygon',
        coordinates: [
          [
            [108.36, 22.81],
            [108.38, 22.81],
            [108.38, 22.83],
            [108.36, 22.83],
          ],
        ],
      };
      const res = await createZone('officerA', { geometry: open });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('INVALID_GEOMETRY');
      expect(res.json().error.message).toContain('ring 0 is not closed');
      expect(res.json().error.message).toContain('[108.36,22.81]');
      // The same check guards PATCH.
      const zoneId = await newZoneId();
      const patch = await s.as('officerA', {
        method: 'PATCH',
        url: `/api/v1/zones/${zoneId}`,
        payload: { geometry: open },
      });
      expect(patch.statusCode).toBe(400);
      expect(patch.json().error.code).toBe('INVALID_GEOMETRY');
    });

    it('refuses malformed GeoJSON with the field path', async () => {
      const latLon = await createZone('officerA', {
        geometry: { type: 'Circle', center: [22.82, 200], radiusM: 100 },
      });
      expect(latLon.statusCode).toBe(400);
      expect(latLon.json().error.message).toContain('geometry.center');
    });

    it('stores a circle with its bounding box from centre and radius', async () => {
      const res = await createZone('officerA', {
        name: '宵禁 家',
        purpose: 'curfew',
        geometry: { type: 'Circle', center: CENTER, radiusM: 1000 },
      });
      expect(res.statusCode).toBe(201);
      const zone = res.json();
      const [minLon, minLat, maxLon, maxLat] = zone.bbox as [number, number, number, number];
      // 1 km is 1/111.195 of a degree of latitude, and 1/(111.195 · cos 22.82°) of longitude.
      const dLat = 1000 / 111_195;
      const dLon = 1000 / (111_195 * Math.cos((CENTER[1] * Math.PI) / 180));
      expect(minLat).toBeCloseTo(CENTER[1] - dLat, 5);
      expect(maxLat).toBeCloseTo(CENTER[1] + dLat, 5);
      expect(minLon).toBeLessThanOrEqual(CENTER[0] - dLon);
      expect(maxLon).toBeGreaterThanOrEqual(CENTER[0] + dLon);
      expect(maxLon - minLon).toBeLessThan(2 * dLon * 1.001);
      const row = await s.db
        .selectFrom('zones')
        .select(['min_lon', 'min_lat', 'max_lon', 'max_lat'])
        .where('id', '=', zone.id)
        .executeTakeFirstOrThrow();
      expect([row.min_lon, row.min_lat, row.max_lon, row.max_lat]).toEqual(zone.bbox);
      // A polygon's box is its extent.
      const square = (await createZone('officerA')).json();
      expect(square.bbox).toEqual([108.36, 22.81, 108.38, 22.83]);
    });

    it('validates schedules: time zone and HH:MM', async () => {
      const badZone = await createZone('officerA', {
        schedule: {
          timeZone: 'Mars/Olympus_Mons',
          windows: [{ days: [1], start: '22:00', end: '06:00' }],
        },
      });
      expect(badZone.statusCode).toBe(400);
      expect(badZone.json().error.message).toContain('schedule.timeZone');
      const badTime = await createZone('officerA', {
        schedule: { windows: [{ days: [1, 2], start: '25:00', end: '06:00' }] },
      });
      expect(badTime.statusCode).toBe(400);
      expect(badTime.json().error.message).toContain('schedule.windows.0.start');
      const badDay = await createZone('officerA', {
        schedule: { windows: [{ days: [0], start: '22:00', end: '06:00' }] },
      });
      expect(badDay.statusCode).toBe(400);
      expect(badDay.json().error.message).toContain('schedule.windows.0.days.0');

      const curfew = await createZone('officerA', {
        purpose: 'curfew',
        geometry: { type: 'Circle', center: CENTER, radiusM: 200 },
        schedule: { windows: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' }] },
      });
      expect(curfew.statusCode).toBe(201);
      expect(curfew.json().schedule).toEqual({
        timeZone: 'Asia/Shanghai',
        windows: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' }],
      });
    });
  });

  describe('changes', () => {
    it('PATCH bumps the version, recomputes the box and refuses a stale version', async () => {
      const zoneId = await newZoneId();
      const res = await s.as('officerA', {
        method: 'PATCH',
        url: `/api/v1/zones/${zoneId}`,
        payload: {
          version: 1,
          name: '新名称',
          geometry: { type: 'Circle', center: CENTER, radiusM: 300 },
          confirmFixes: 5,
        },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        version: 2,
        name: '新名称',
        confirmFixes: 5,
        kind: 'inclusion',
      });
      expect(res.json().bbox[0]).toBeGreaterThan(108.36);
      const stale = await s.as('officerA', {
        method: 'PATCH',
        url: `/api/v1/zones/${zoneId}`,
        payload: { version: 1, name: '旧版本' },
      });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().error.code).toBe('ZONE_VERSION_CONFLICT');
      const empty = await s.as('officerA', {
        method: 'PATCH',
        url: `/api/v1/zones/${zoneId}`,
        payload: {},
      });
      expect(empty.statusCode).toBe(400);
    });

    it('DELETE is soft: the zone stays, inactive, and stops listing', async () => {
      const zoneId = await newZoneId({ name: '待删除围栏' });
      const del = await s.as('officerA', { method: 'DELETE', url: `/api/v1/zones/${zoneId}` });
      expect(del.statusCode).toBe(204);
      const got = await s.as('officerA', { url: `/api/v1/zones/${zoneId}` });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toMatchObject({ active: false, version: 2 });
      const listed = (await s.as('officerA', { url: '/api/v1/zones?limit=500' })).json();
      expect(listed.items.map((z: { id: string }) => z.id)).not.toContain(zoneId);
      const withInactive = (
        await s.as('officerA', { url: '/api/v1/zones?limit=500&includeInactive=true' })
      ).json();
      expect(withInactive.items.map((z: { id: string }) => z.id)).toContain(zoneId);
      const row = await s.db
        .selectFrom('zones')
        .select('active')
        .where('id', '=', zoneId)
        .executeTakeFirstOrThrow();
      expect(row.active).toBe(false);
      const patch = await s.as('officerA', {
        method: 'PATCH',
        url: `/api/v1/zones/${zoneId}`,
        payload: { name: 'x' },
      });
      expect(patch.statusCode).toBe(409);
      expect(
        (await s.as('officerA', { method: 'DELETE', url: `/api/v1/zones/${zoneId}` })).statusCode,
      ).toBe(204);
    });

    it('filters by kind, purpose, subject and bbox, and pages by name', async () => {
      const subject = await seedSubject(s.db, A.township);
      const beijing = {
        type: 'Polygon',
        coordinates: [
          [
            [116.3, 39.9],
            [116.4, 39.9],
            [116.4, 40.0],
            [116.3, 39.9],
          ],
        ],
      };
      const far = await newZoneId({
        name: 'F 远处',
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry: beijing,
      });
      const near = await newZoneId({
        name: 'F 近处',
        subjectId: subject.id,
        kind: 'exclusion',
        purpose: 'prohibited',
      });
      const list = async (query: string) =>
        (
          (await s.as('bureauA', { url: `/api/v1/zones?limit=500&${query}` })).json().items as {
            id: string;
          }[]
        ).map((z) => z.id);
      const nanning = await list('bbox=108.0,22.5,108.6,23.0&kind=exclusion');
      expect(nanning).toContain(near);
      expect(nanning).not.toContain(far);
      expect(await list('bbox=116,39,117,41')).toEqual([far]);
      expect(await list(`subjectId=${subject.id}`)).toEqual([near]);
      const prohibited = await list('purpose=prohibited');
      expect(prohibited).toEqual(expect.arrayContaining([near, far]));
      const badBbox = await s.as('bureauA', { url: '/api/v1/zones?bbox=1,2,3' });
      expect(badBbox.statusCode).toBe(400);
      expect(badBbox.json().error.message).toContain('bbox');

      // Keyset pages by name: every zone once.
      const all = await list('includeInactive=true');
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const res: LightMyRequestResponse = await s.as('bureauA', {
          url: `/api/v1/zones?limit=3&includeInactive=true${cursor ? `&cursor=${cursor}` : ''}`,
        });
        paged.push(...res.json().items.map((z: { id: string }) => z.id));
        cursor = res.json().nextCursor;
      } while (cursor);
      expect(paged).toEqual(all);
    });

    it('audits zone changes', async () => {
      const zoneId = await newZoneId();
      await s.as('bureauA', {
        method: 'PATCH',
        url: `/api/v1/zones/${zoneId}`,
        payload: { bufferM: 40 },
      });
      await s.as('bureauA', { method: 'DELETE', url: `/api/v1/zones/${zoneId}` });
      const entries = await s.db
        .selectFrom('audit_log')
        .select(['action', 'actor_username', 'jurisdiction_code', 'detail'])
        .where('resource_type', '=', 'zone')
        .where('resource_id', '=', zoneId)
        .orderBy('id')
        .execute();
      expect(entries.map((e) => e.action)).toEqual(['zone.create', 'zone.update', 'zone.delete']);
      expect(
        entries.every((e) => e.actor_username === 'bureauA' && e.jurisdiction_code === A.township),
      ).toBe(true);
      expect(entries[1]!.detail).toMatchObject({ changed: ['bufferM'], version: 2 });
    });
  });

  describe('assignments', () => {
    it('follow roles and scope of both the subject and the zone', async () => {
      const subject = await seedSubject(s.db, A.township);
      const url = (zoneId: string) => `/api/v1/subjects/${subject.id}/zones/${zoneId}`;
      await expectMatrix(writersOfA(201), async (u) =>
        s.as(u, { method: 'PUT', url: url(await newZoneId()), payload: {} }),
      );
      await expectMatrix(READERS_OF_A, (u) =>
        s.as(u, { url: `/api/v1/subjects/${subject.id}/zones` }),
      );
      await expectMatrix(writersOfA(204), async (u) => {
        const zoneId = await newZoneId();
        const put = await s.as('bureauA', { method: 'PUT', url: url(zoneId), payload: {} });
        expect(put.statusCode).toBe(201);
        return s.as(u, { method: 'DELETE', url: url(zoneId) });
      });
      // A zone of side B with a subject of side A: only the admin sees both.
      const bZone = (await createZone('bureauB', { jurisdictionCode: B.county })).json()
        .id as string;
      const cross = await s.as('bureauA', { method: 'PUT', url: url(bZone), payload: {} });
      expect(cross.statusCode).toBe(404);
      expect(cross.json().error.code).toBe('ZONE_NOT_FOUND');
      expect(
        (await s.as('admin', { method: 'PUT', url: url(bZone), payload: {} })).statusCode,
      ).toBe(201);
    });

    it('lists assigned and personal zones with overrides; PUT replaces, DELETE removes', async () => {
      const subject = await seedSubject(s.db, A.township);
      const other = await seedSubject(s.db, A.township);
      const county = await newZoneId({ name: 'A 居住区', jurisdictionCode: A.county });
      const curfew = await newZoneId({
        name: 'B 宵禁',
        purpose: 'curfew',
        geometry: { type: 'Circle', center: CENTER, radiusM: 150 },
      });
      const personal = await newZoneId({
        name: 'C 被害人住所',
        kind: 'exclusion',
        purpose: 'prohibited',
        subjectId: subject.id,
        geometry: { type: 'Circle', center: [108.4, 22.8], radiusM: 200 },
      });
      const base = `/api/v1/subjects/${subject.id}/zones`;
      const override = {
        timeZone: 'Asia/Shanghai',
        windows: [{ days: [1, 2, 3, 4, 5], start: '21:00', end: '06:00' }],
      };
      expect(
        (await s.as('bureauA', { method: 'PUT', url: `${base}/${county}`, payload: {} }))
          .statusCode,
      ).toBe(201);
      const put = await s.as('officerA', {
        method: 'PUT',
        url: `${base}/${curfew}`,
        payload: { scheduleOverride: override, validFrom: '2026-01-01T00:00:00.000Z' },
      });
      expect(put.statusCode).toBe(201);
      expect(put.json()).toMatchObject({
        via: 'assignment',
        scheduleOverride: override,
        validTo: null,
      });
      const replaced = await s.as('officerA', {
        method: 'PUT',
        url: `${base}/${curfew}`,
        payload: { validTo: '2030-01-01T00:00:00.000Z' },
      });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json()).toMatchObject({
        scheduleOverride: null,
        validFrom: null,
        validTo: '2030-01-01T00:00:00.000Z',
      });

      // The officer sees the county zone in the subject's list though it belongs to the bureau.
      const listed = (await s.as('officerA', { url: base })).json();
      expect(listed.items.map((i: { zoneId: string; via: string }) => [i.zoneId, i.via])).toEqual([
        [county, 'assignment'],
        [curfew, 'assignment'],
        [personal, 'personal'],
      ]);
      expect((await s.as('officerA', { url: `/api/v1/zones/${county}` })).statusCode).toBe(404);

      const paged = (await s.as('officerA', { url: `${base}?limit=2` })).json();
      expect(paged.items).toHaveLength(2);
      const rest = (
        await s.as('officerA', { url: `${base}?limit=2&cursor=${paged.nextCursor}` })
      ).json();
      expect(rest.items.map((i: { zoneId: string }) => i.zoneId)).toEqual([personal]);

      // Another subject's personal zone cannot be assigned; bad windows are refused.
      const foreign = await s.as('officerA', {
        method: 'PUT',
        url: `/api/v1/subjects/${other.id}/zones/${personal}`,
        payload: {},
      });
      expect(foreign.statusCode).toBe(409);
      expect(foreign.json().error.code).toBe('ZONE_OF_ANOTHER_SUBJECT');
      const backwards = await s.as('officerA', {
        method: 'PUT',
        url: `${base}/${curfew}`,
        payload: { validFrom: '2027-01-01T00:00:00.000Z', validTo: '2026-01-01T00:00:00.000Z' },
      });
      expect(backwards.statusCode).toBe(400);
      expect(backwards.json().error.message).toContain('validTo');

      const del = await s.as('officerA', { method: 'DELETE', url: `${base}/${curfew}` });
      expect(del.statusCode).toBe(204);
      const again = await s.as('officerA', { method: 'DELETE', url: `${base}/${curfew}` });
      expect(again.statusCode).toBe(404);
      expect(again.json().error.code).toBe('ASSIGNMENT_NOT_FOUND');

      const entries = await s.db
        .selectFrom('audit_log')
        .select(['action', 'detail'])
        .where('resource_type', '=', 'subject')
        .where('resource_id', '=', subject.id)
        .orderBy('id')
        .execute();
      expect(entries.map((e) => e.action)).toEqual([
        'zone_assignment.put',
        'zone_assignment.put',
        'zone_assignment.put',
        'zone_assignment.delete',
      ]);
      expect(entries[3]!.detail).toMatchObject({ zoneId: curfew });
    });
  });

  describe('dry run', () => {
    const dryRun = (user: TestUser, subjectId: string, zone: object = {}, days = 1) =>
      s.as(user, {
        method: 'POST',
        url: '/api/v1/zones/dry-run',
        payload: {
          subjectId,
          days,
          zone: {
            kind: 'inclusion',
            purpose: 'county',
            geometry: SQUARE,
            bufferM: 20,
            schedule: null,
            ...zone,
          },
        },
      });

    // Fixes every minute; the last one two minutes ago.
    const now = Math.floor(Date.now() / MIN) * MIN;
    const minute = (i: number, count: number) => now - 2 * MIN - (count - 1 - i) * MIN;
    const COUNT = 23 * 60;
    const EXIT_FROM = 600;
    const EXIT_TO = 630; // first fix back inside

    let leaver: Awaited<ReturnType<typeof seedMonitored>>;
    let drifter: Awaited<ReturnType<typeof seedMonitored>>;
    beforeAll(async () => {
      // At home in the middle of the square all day, except 30 minutes ≈ 500 m east of it.
      leaver = await seedMonitored(s.db, {
        startsAt: new Date(now - 5 * DAY),
        endsAt: new Date(now + 20 * DAY),
      });
      await insertFixes(
        s.db,
        leaver,
        Array.from({ length: COUNT }, (_, i) => {
          const out = i >= EXIT_FROM && i < EXIT_TO;
          return out
            ? { t: minute(i, COUNT), lon: 108.385, lat: CENTER[1] }
            : {
                t: minute(i, COUNT),
                lon: CENTER[0] + ((i % 5) - 2) * 0.00005,
                lat: CENTER[1] + ((i % 3) - 1) * 0.00005,
              };
        }),
      );
      // Two days ago (outside a one-day dry run) a short trip out as well.
      await insertFixes(
        s.db,
        leaver,
        Array.from({ length: 30 }, (_, i) => ({
          t: now - 2 * DAY + i * MIN,
          lon: i >= 10 && i < 20 ? 108.385 : CENTER[0],
          lat: CENTER[1],
        })),
      );

      // Lives on the east edge: GNSS drifting ±15 m around it with 10 m accuracy, LBS fixes
      // 300 m out with 500 m accuracy, and a lone 100 m spike every three hours.
      drifter = await seedMonitored(s.db, {
        startsAt: new Date(now - 5 * DAY),
        endsAt: new Date(now + 20 * DAY),
      });
      const edgeLon = 108.38;
      const mPerDegLon = 111_195 * Math.cos((CENTER[1] * Math.PI) / 180);
      await insertFixes(
        s.db,
        drifter,
        Array.from({ length: COUNT }, (_, i) => {
          const t = minute(i, COUNT);
          if (i % 180 === 90)
            return { t, lon: edgeLon + 100 / mPerDegLon, lat: CENTER[1], accM: 10 };
          if (i % 7 === 3)
            return {
              t,
              lon: edgeLon + 300 / mPerDegLon,
              lat: CENTER[1],
              accM: 500,
              src: 1 as const,
            };
          const driftM = [-15, -5, 8, 15, 3, -10][i % 6]!;
          return {
            t,
            lon: edgeLon + driftM / mPerDegLon,
            lat: CENTER[1] + ((i % 4) - 2) * 0.0001,
            accM: 10,
          };
        }),
      );
    });

    it('reports the one exit of a proposed inclusion zone with its times', async () => {
      const res = await dryRun('officerA', leaver.subjectId);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.fixesReplayed).toBe(COUNT);
      expect(body.truncated).toBe(false);
      expect(body.count).toBe(1);
      expect(body.alerts).toHaveLength(1);
      expect(body.alerts[0]).toMatchObject({
        type: 'zone_exit',
        startedAt: new Date(minute(EXIT_FROM, COUNT)).toISOString(),
        endedAt: new Date(minute(EXIT_TO, COUNT)).toISOString(),
        lat: CENTER[1],
        lon: 108.385,
        late: false,
      });
      expect(body.alerts[0].evidence.kind).toBe('fixes');

      // Three days back takes in the earlier trip too.
      const longer = (await dryRun('officerA', leaver.subjectId, {}, 3)).json();
      expect(longer.count).toBe(2);
      expect(longer.alerts[0].startedAt).toBe(new Date(now - 2 * DAY + 10 * MIN).toISOString());
    });

    it('raises nothing for drift and coarse fixes near the edge', async () => {
      const res = await dryRun('officerA', drifter.subjectId);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ fixesReplayed: COUNT, count: 0, alerts: [] });
      // Without buffer and confirmation the same track alarms: the replay is not vacuous.
      const touchy = (
        await dryRun('officerA', drifter.subjectId, {
          bufferM: 0,
          confirmFixes: 1,
          confirmSeconds: 0,
        })
      ).json();
      expect(touchy.count).toBeGreaterThan(0);
    });

    it('a schedule limits the zone to its windows', async () => {
      // Shanghai wall-clock minutes of the day, as HH:MM (windows end ≤ start cross midnight).
      const hhmm = (ms: number) => {
        const m = Math.floor(((ms + 8 * 3600_000) % DAY) / MIN);
        return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
      };
      const exitAt = minute(EXIT_FROM, COUNT);
      const everyDay = [1, 2, 3, 4, 5, 6, 7];
      const covering = await dryRun('officerA', leaver.subjectId, {
        schedule: {
          windows: [
            { days: everyDay, start: hhmm(exitAt - 60 * MIN), end: hhmm(exitAt + 90 * MIN) },
          ],
        },
      });
      expect(covering.statusCode).toBe(200);
      expect(covering.json().alerts).toMatchObject([
        { type: 'zone_exit', startedAt: new Date(exitAt).toISOString() },
      ]);
      const elsewhere = await dryRun('officerA', leaver.subjectId, {
        schedule: {
          windows: [
            { days: everyDay, start: hhmm(exitAt + 120 * MIN), end: hhmm(exitAt + 180 * MIN) },
          ],
        },
      });
      expect(elsewhere.json().count).toBe(0);
    });

    it('replays only fixes inside the subject’s monitoring orders', async () => {
      // Ended early 12 hours ago: whatever is stored after that is not replayed.
      const ended = await seedMonitored(s.db, {
        startsAt: new Date(now - 5 * DAY),
        endsAt: new Date(now + 20 * DAY),
        endedAt: new Date(now - 12 * 60 * MIN),
      });
      const track = Array.from({ length: COUNT }, (_, i) => ({
        t: minute(i, COUNT),
        lon: CENTER[0],
        lat: CENTER[1],
      }));
      await insertFixes(s.db, ended, track);
      const inside = track.filter((p) => p.t < now - 12 * 60 * MIN).length;
      const res = (await dryRun('officerA', ended.subjectId)).json();
      expect(res.fixesReplayed).toBe(inside);
      expect(inside).toBeLessThan(COUNT);
    });

    it('refuses invalid geometry and bad days', async () => {
      const bowTie = {
        type: 'Polygon',
        coordinates: [
          [
            [108.36, 22.81],
            [108.38, 22.83],
            [108.38, 22.81],
            [108.36, 22.83],
            [108.36, 22.81],
          ],
        ],
      };
      const res = await dryRun('officerA', leaver.subjectId, { geometry: bowTie });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('INVALID_GEOMETRY');
      expect(res.json().error.message).toContain('segments 0 and 2');
      const days = await dryRun('officerA', leaver.subjectId, {}, 31);
      expect(days.statusCode).toBe(400);
      expect(days.json().error.message).toContain('days');
    });

    it('follows roles and scope, and audits the position read', async () => {
      await expectMatrix(
        {
          admin: 200,
          bureauA: 200,
          policeA: 403,
          auditorA: 403,
          officerA: 200,
          bureauB: 404,
          policeB: 403,
          auditorB: 403,
          officerB: 404,
        },
        (u) => dryRun(u, leaver.subjectId),
      );
      const entries = await s.db
        .selectFrom('audit_log')
        .select(['action', 'actor_username', 'resource_id', 'jurisdiction_code', 'detail'])
        .where('action', '=', 'positions.dry_run')
        .where('resource_id', '=', leaver.subjectId)
        .orderBy('id')
        .execute();
      const byUser = entries.map((e) => e.actor_username);
      expect(byUser).toEqual(expect.arrayContaining(['admin', 'bureauA', 'officerA']));
      expect(byUser).not.toContain('bureauB');
      const last = entries.at(-1)!;
      expect(last.jurisdiction_code).toBe(A.township);
      expect(last.detail).toMatchObject({
        subjectId: leaver.subjectId,
        days: 1,
        fixesReplayed: COUNT,
      });
      const detail = last.detail as { from: string; to: string };
      expect(Date.parse(detail.to) - Date.parse(detail.from)).toBe(DAY);
    });
  });

  it('publishes these routes in the OpenAPI document', async () => {
    const res = await s.app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/zones',
        '/api/v1/zones/{id}',
        '/api/v1/zones/dry-run',
        '/api/v1/subjects/{id}/zones',
        '/api/v1/subjects/{id}/zones/{zoneId}',
        '/api/v1/subjects/{id}/monitoring-orders',
        '/api/v1/monitoring-orders/{id}/extensions/{extId}/approve',
      ]),
    );
  });
});
