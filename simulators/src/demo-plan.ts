import type { WeeklySchedule, ZoneGeometry } from '@ccm/contracts';
import type { CorrectionType, LegalGround, ManagementLevel, Role } from '@ccm/db';
import {
  destination,
  distanceM,
  offsetM,
  pathClearanceM,
  round6,
  route,
  shapeOf,
  signedDistanceM,
  type LonLat,
  type Shape,
} from './geo';
import { CITY, DISTRICTS, PROVINCE, districtOutline, type District, type Office } from './guangxi';
import { Rng, seedOf, stableUuid } from './random';
import { syntheticIdCardNo, syntheticPerson } from './synthetic';

/**
 * The demo data set as a pure, deterministic plan: every row the seed writes and everything
 * the fleet needs to move its devices (homes, workplaces, routes, zones). The same options
 * give the same plan, row ids included (stable UUIDs), which is what makes the seed
 * idempotent; growing `subjects` only adds rows, because each subject is drawn from its own
 * seeded generator.
 */
export interface DemoPlanOptions {
  /** Subjects (each with one wristband and one monitoring order), spread over the offices. */
  subjects?: number;
  /** Changes every random choice; keep it fixed for a stable data set. */
  seed?: number;
  /** The instant orders and terms are dated from (first seed). Default: now. */
  referenceMs?: number;
}

export const DEFAULT_DEMO_SUBJECTS = 60;

export type PlaceName = 'home' | 'work' | 'market' | 'park' | 'office';

export interface DemoPlaces {
  home: LonLat;
  /** Null: no job, the day is errands. */
  work: LonLat | null;
  /** A street market (outdoors), 0.5–1.5 km from home. */
  market: LonLat;
  /** A park (outdoors), 0.6–2 km from home. */
  park: LonLat;
  /** The subject's justice office, where the check-in terminal stands. */
  office: LonLat;
}

/** How one person lives their day; numbers only, so 100,000 of them stay small. */
export interface Persona {
  walkMps: number;
  driveMps: number;
  /** Leaves home for the day this many minutes after 06:30 (0–90). */
  startOffsetMin: number;
  /** Battery drain while worn, % per hour. */
  drainPctPerH: number;
  /** ISO weekday (1–5) of the weekly check-in at the office, and minutes after 09:00. */
  checkinWeekday: number;
  checkinMinute: number;
}

export interface DemoZone {
  id: string;
  name: string;
  kind: 'inclusion' | 'exclusion';
  purpose: 'county' | 'curfew' | 'prohibited';
  geometry: ZoneGeometry;
  bufferM: number;
  schedule: WeeklySchedule | null;
  jurisdictionCode: string;
  /** Set for one subject's own zone (a victim's home, their curfew home). */
  subjectId: string | null;
  /** What the zone is, for picking scenario targets. */
  tag: 'county' | 'curfew' | 'internet_cafe' | 'school' | 'victim_home';
}

export interface DemoWristbandPlan {
  kind: 'wristband';
  deviceId: string;
  index: number;
  subjectId: string;
  subjectName: string;
  officeCode: string;
  countyCode: string;
  places: DemoPlaces;
  persona: Persona;
  countyZoneId: string;
  curfewZoneId: string | null;
  exclusionZoneIds: string[];
  /** Every zone that applies to the subject (county, curfew, exclusions). */
  zoneIds: string[];
}

export interface DemoTerminalPlan {
  kind: 'terminal';
  deviceId: string;
  officeCode: string;
  at: LonLat;
}

export interface JurisdictionRow {
  code: string;
  parentCode: string | null;
  level: 'province' | 'city' | 'county' | 'township';
  nameZh: string;
  nameEn: string;
  path: string;
}

export interface UserPlan {
  id: string;
  username: string;
  displayName: string;
  role: Exclude<Role, 'admin'>;
  jurisdictionCode: string;
}

export interface SubjectPlan {
  id: string;
  name: string;
  idCardNo: string;
  gender: 'male' | 'female';
  birthDate: string;
  correctionType: CorrectionType;
  termStart: string;
  termEnd: string;
  jurisdictionCode: string;
  managementLevel: ManagementLevel;
  officerId: string;
  homeAddress: string;
}

export interface DevicePlan {
  id: string;
  kind: 'wristband' | 'terminal';
  jurisdictionCode: string;
  vendor: string;
  model: string;
}

export interface OrderPlan {
  id: string;
  subjectId: string;
  deviceId: string;
  legalGround: LegalGround;
  groundDetail: string;
  decisionNo: string;
  approverName: string;
  approverId: string;
  createdBy: string;
  approvedAt: Date;
  startsAt: Date;
  endsAt: Date;
}

export interface DemoPlan {
  jurisdictions: JurisdictionRow[];
  users: UserPlan[];
  subjects: SubjectPlan[];
  devices: DevicePlan[];
  orders: OrderPlan[];
  zones: DemoZone[];
  assignments: { subjectId: string; zoneId: string }[];
  wristbands: DemoWristbandPlan[];
  terminals: DemoTerminalPlan[];
}

/** Distance every place and route keeps from the county edge, m: LBS error stays inside. */
export const COUNTY_MARGIN_M = 1000;
/** Distance routine routes keep from a subject's exclusion zones (edge), m. */
export const EXCLUSION_CLEARANCE_M = 400;
/** Curfew home circle, m; and its window, Asia/Shanghai (the contract's default zone). */
export const CURFEW_RADIUS_M = 150;
export const CURFEW_SCHEDULE: WeeklySchedule = {
  timeZone: 'Asia/Shanghai',
  windows: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' }],
};
/** County zones are wide and rural at the edge: a generous buffer on top of each fix's accuracy. */
export const COUNTY_BUFFER_M = 50;

const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** The legs of a day; each is validated once here and replayed by the routine. */
export const ROUTINE_LEGS: readonly (readonly [PlaceName, PlaceName])[] = [
  ['home', 'work'],
  ['home', 'market'],
  ['home', 'park'],
  ['home', 'office'],
  ['work', 'market'],
  ['work', 'office'],
];

/**
 * The route of a leg, the same every day and in both directions (a → b is b → a reversed).
 * Returns null when a place is missing (no job).
 */
export function legRoute(
  places: DemoPlaces,
  index: number,
  a: PlaceName,
  b: PlaceName,
): LonLat[] | null {
  const pa = places[a];
  const pb = places[b];
  if (!pa || !pb) return null;
  const [first, second] = a < b ? [a, b] : [b, a];
  const bend = ((seedOf('bend', index, first, second) % 1000) / 1000 - 0.5) * 0.3;
  const path = route(places[first]!, places[second]!, bend);
  return first === a ? path : path.reverse();
}

const GROUND_DETAIL: Record<LegalGround, string> = {
  prohibition_order_violation: '违反人民法院禁止令，进入禁止进入的区域、场所',
  left_without_approval: '无正当理由，未经批准离开所居住的市、县',
  warned_refusing_report: '拒不按照规定报告自己的活动情况，被给予警告',
  public_security_penalty: '违反监督管理规定，被给予治安管理处罚',
  pending_revocation: '拟提请撤销缓刑、假释或者暂予监外执行收监执行',
};

const CAFE_NAMES = ['星空网吧', '极速网咖', '风云网吧', '蓝海网咖', '乐游网吧'];
const SCHOOL_NAMES = ['实验小学', '第三中学', '育才小学', '明德中学'];

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Midnight of the Asia/Shanghai day holding `ms`, as an instant. */
const shanghaiMidnight = (ms: number) =>
  Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS) * DAY_MS - SHANGHAI_OFFSET_MS;

/** A point near `near` that is at least `marginM` inside the shape (deterministic search). */
export function pointInside(shape: Shape, near: LonLat, marginM: number): LonLat {
  if (signedDistanceM(shape, near) <= -marginM) return near;
  for (let r = 250; r <= 40_000; r += 250) {
    for (let k = 0; k < 24; k++) {
      const p = destination(near, k * 15, r);
      if (signedDistanceM(shape, p) <= -marginM) return p;
    }
  }
  throw new Error('no point inside the shape with that margin');
}

interface Drawn {
  p: LonLat;
}

/** A random point `minM`–`maxM` from `from`, inside the county with the margin. */
function drawPlace(
  rng: Rng,
  county: Shape,
  from: LonLat,
  minM: number,
  maxM: number,
  accept: (p: LonLat) => boolean = () => true,
): Drawn | null {
  for (let attempt = 0; attempt < 60; attempt++) {
    const p = destination(from, rng.range(0, 360), rng.range(minM, maxM));
    if (signedDistanceM(county, p) <= -COUNTY_MARGIN_M && accept(p)) return { p };
  }
  return null;
}

function roundPlace(p: LonLat): LonLat {
  return [round6(p[0]), round6(p[1])];
}

/** A school as a small rotated rectangle (about 240 m × 170 m). */
function schoolPolygon(center: LonLat, rotationDeg: number): ZoneGeometry {
  const corners: LonLat[] = [
    [-120, -85],
    [120, -85],
    [120, 85],
    [-120, 85],
  ].map(([x, y]) => {
    const r = (rotationDeg * Math.PI) / 180;
    return roundPlace(
      offsetM(center, x! * Math.cos(r) - y! * Math.sin(r), x! * Math.sin(r) + y! * Math.cos(r)),
    );
  });
  return { type: 'Polygon', coordinates: [[...corners, corners[0]!]] };
}

export function buildDemoPlan(options: DemoPlanOptions = {}): DemoPlan {
  const subjectCount = Math.max(0, Math.floor(options.subjects ?? DEFAULT_DEMO_SUBJECTS));
  const seed = options.seed ?? 1;
  const referenceMs = options.referenceMs ?? Date.now();
  const id = (name: string) => stableUuid(`${seed}:${name}`);

  const plan: DemoPlan = {
    jurisdictions: [],
    users: [],
    subjects: [],
    devices: [],
    orders: [],
    zones: [],
    assignments: [],
    wristbands: [],
    terminals: [],
  };

  // Jurisdictions: province → city → districts → offices.
  plan.jurisdictions.push(
    { ...PROVINCE, parentCode: null, level: 'province', path: PROVINCE.code },
    { ...CITY, parentCode: PROVINCE.code, level: 'city', path: `${PROVINCE.code}.${CITY.code}` },
  );
  const counties = new Map<string, Shape>();
  const officeAt = new Map<string, LonLat>();
  for (const d of DISTRICTS) {
    const path = `${PROVINCE.code}.${CITY.code}.${d.code}`;
    plan.jurisdictions.push({
      code: d.code,
      parentCode: CITY.code,
      level: 'county',
      nameZh: d.nameZh,
      nameEn: d.nameEn,
      path,
    });
    for (const o of d.offices) {
      plan.jurisdictions.push({
        code: o.code,
        parentCode: d.code,
        level: 'township',
        nameZh: o.nameZh,
        nameEn: o.nameEn,
        path: `${path}.${o.code}`,
      });
    }
    const geometry = districtOutline(d.code);
    const shape = shapeOf(geometry);
    counties.set(d.code, shape);
    for (const o of d.offices) officeAt.set(o.code, roundPlace(pointInside(shape, o.at, 1500)));
    plan.zones.push({
      id: id(`zone:county:${d.code}`),
      name: `${d.nameZh}活动区域（近似边界）/ ${d.nameEn} (approximate outline)`,
      kind: 'inclusion',
      purpose: 'county',
      geometry,
      bufferM: COUNTY_BUFFER_M,
      schedule: null,
      jurisdictionCode: d.code,
      subjectId: null,
      tag: 'county',
    });
  }

  // Users: a bureau per district and one for the city, officers per office, a police
  // partner and a procuratorate auditor for the city. No admin: the platform makes its own.
  const people = new Rng(seedOf('staff', seed));
  const staffName = () => syntheticPerson(() => people.next()).name;
  const bureauOf = new Map<string, UserPlan>();
  const officerOf = new Map<string, UserPlan>();
  const addUser = (user: Omit<UserPlan, 'id'>) => {
    const row = { id: id(`user:${user.username}`), ...user };
    plan.users.push(row);
    return row;
  };
  addUser({
    username: 'bureau.nanning',
    displayName: `${staffName()}（南宁市司法局）`,
    role: 'bureau',
    jurisdictionCode: CITY.code,
  });
  for (const d of DISTRICTS) {
    bureauOf.set(
      d.code,
      addUser({
        username: `bureau.${d.slug}`,
        displayName: `${staffName()}（${d.nameZh}司法局局长）`,
        role: 'bureau',
        jurisdictionCode: d.code,
      }),
    );
    d.offices.forEach((o, k) => {
      officerOf.set(
        o.code,
        addUser({
          username: `officer.${d.slug}${k + 1}`,
          displayName: `${staffName()}（${o.nameZh}）`,
          role: 'officer',
          jurisdictionCode: o.code,
        }),
      );
    });
  }
  addUser({
    username: 'police.nanning',
    displayName: `${staffName()}（南宁市公安局）`,
    role: 'police',
    jurisdictionCode: CITY.code,
  });
  addUser({
    username: 'auditor.nanning',
    displayName: `${staffName()}（南宁市人民检察院）`,
    role: 'auditor',
    jurisdictionCode: CITY.code,
  });

  // Terminals: one check-in terminal (信息化核查终端) per office.
  for (const d of DISTRICTS) {
    for (const o of d.offices) {
      const deviceId = `term-${o.code}`;
      plan.devices.push({
        id: deviceId,
        kind: 'terminal',
        jurisdictionCode: o.code,
        vendor: '模拟设备厂 / SimDevices',
        model: 'CK-3 信息化核查终端（指纹/人脸/声纹）',
      });
      plan.terminals.push({
        kind: 'terminal',
        deviceId,
        officeCode: o.code,
        at: officeAt.get(o.code)!,
      });
    }
  }

  // Shared exclusion zones per district: internet cafés and schools (禁止令 places).
  const sharedZones = new Map<string, { zone: DemoZone; shape: Shape }[]>();
  for (const d of DISTRICTS) {
    const rng = new Rng(seedOf('places', seed, d.code));
    const county = counties.get(d.code)!;
    const list: { zone: DemoZone; shape: Shape }[] = [];
    const place = (k: number) => {
      const o = d.offices[k % d.offices.length]!;
      return drawPlace(rng, county, officeAt.get(o.code)!, 800, 3000)?.p;
    };
    for (let k = 0; k < 3; k++) {
      const at = place(k);
      if (!at) continue;
      const geometry: ZoneGeometry = { type: 'Circle', center: roundPlace(at), radiusM: 50 };
      const zone: DemoZone = {
        id: id(`zone:cafe:${d.code}:${k}`),
        name: `禁止区域：${CAFE_NAMES[k % CAFE_NAMES.length]}（模拟）/ internet café`,
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry,
        bufferM: 10,
        schedule: null,
        jurisdictionCode: d.code,
        subjectId: null,
        tag: 'internet_cafe',
      };
      list.push({ zone, shape: shapeOf(geometry) });
    }
    for (let k = 0; k < 2; k++) {
      const at = place(k + 1);
      if (!at) continue;
      const geometry = schoolPolygon(at, rng.range(0, 90));
      const zone: DemoZone = {
        id: id(`zone:school:${d.code}:${k}`),
        name: `禁止区域：${d.nameZh}${SCHOOL_NAMES[k % SCHOOL_NAMES.length]}（模拟）/ school`,
        kind: 'exclusion',
        purpose: 'prohibited',
        geometry,
        bufferM: 20,
        schedule: null,
        jurisdictionCode: d.code,
        subjectId: null,
        tag: 'school',
      };
      list.push({ zone, shape: shapeOf(geometry) });
    }
    plan.zones.push(...list.map((z) => z.zone));
    sharedZones.set(d.code, list);
  }

  // Subjects, round-robin over the offices so a small fleet still covers the city.
  const offices: { district: District; office: Office }[] = DISTRICTS.flatMap((district) =>
    district.offices.map((office) => ({ district, office })),
  );
  const usedIdCards = new Set<string>();
  const decisionCount = new Map<string, number>();
  for (let i = 0; i < subjectCount; i++) {
    const { district: d, office: o } = offices[i % offices.length]!;
    const rng = new Rng(seedOf('subject', seed, i));
    const county = counties.get(d.code)!;
    const officePoint = officeAt.get(o.code)!;
    const subjectId = id(`subject:${i}`);
    const deviceId = `wb-${d.slug}-${String(i + 1).padStart(5, '0')}`;
    const person = syntheticPerson(() => rng.next());

    // Places, validated with their routes: inside the county with margin, and later away
    // from the subject's exclusion zones.
    let places: DemoPlaces | null = null;
    for (let attempt = 0; attempt < 40 && !places; attempt++) {
      const home = drawPlace(rng, county, officePoint, 300, 4000)?.p;
      if (!home) continue;
      const employed = rng.chance(0.65);
      const work = employed ? (drawPlace(rng, county, home, 1500, 7000)?.p ?? null) : null;
      const market = drawPlace(rng, county, home, 500, 1500)?.p;
      const park = drawPlace(rng, county, home, 600, 2000)?.p;
      if (!market || !park) continue;
      const candidate: DemoPlaces = {
        home: roundPlace(home),
        work: work ? roundPlace(work) : null,
        market: roundPlace(market),
        park: roundPlace(park),
        office: officePoint,
      };
      const routesInside = ROUTINE_LEGS.every(([a, b]) => {
        const path = legRoute(candidate, i, a, b);
        return !path || pathClearanceM(county, path, 200) <= -COUNTY_MARGIN_M;
      });
      if (routesInside) places = candidate;
    }
    if (!places) throw new Error(`could not place subject ${i} in ${d.nameZh}`);
    const routes = ROUTINE_LEGS.map(([a, b]) => legRoute(places, i, a, b)).filter(
      (r): r is LonLat[] => r !== null,
    );
    const clearOfRoutes = (shape: Shape) =>
      routes.every((r) => pathClearanceM(shape, r, 50) >= EXCLUSION_CLEARANCE_M);

    // The legal ground decides the exclusion zones: a 禁止令 (prohibition order) names places.
    const victim = i % 3 === 1;
    const ground: LegalGround = victim
      ? 'prohibition_order_violation'
      : rng.weighted<LegalGround>([
          ['prohibition_order_violation', 3],
          ['left_without_approval', 3],
          ['warned_refusing_report', 1.5],
          ['public_security_penalty', 1.5],
          ['pending_revocation', 1],
        ]);
    const strict = i % 2 === 0;
    const zoneIds: string[] = [];
    const exclusionZoneIds: string[] = [];
    const countyZoneId = id(`zone:county:${d.code}`);
    zoneIds.push(countyZoneId);
    let curfewZoneId: string | null = null;
    if (strict) {
      curfewZoneId = id(`zone:curfew:${i}`);
      plan.zones.push({
        id: curfewZoneId,
        name: `宵禁区域：${person.name}住所 / home curfew`,
        kind: 'inclusion',
        purpose: 'curfew',
        geometry: { type: 'Circle', center: places.home, radiusM: CURFEW_RADIUS_M },
        bufferM: 20,
        schedule: CURFEW_SCHEDULE,
        jurisdictionCode: o.code,
        subjectId,
        tag: 'curfew',
      });
      zoneIds.push(curfewZoneId);
    }
    if (victim) {
      // The victim's home: away from the subject's own routes, inside the county.
      const at = drawPlace(rng, county, places.home, 1500, 4000, (p) =>
        clearOfRoutes(shapeOf({ type: 'Circle', center: p, radiusM: 200 })),
      )?.p;
      if (at) {
        const zoneId = id(`zone:victim:${i}`);
        plan.zones.push({
          id: zoneId,
          name: `禁止区域：被害人住所（模拟）/ victim's home`,
          kind: 'exclusion',
          purpose: 'prohibited',
          geometry: { type: 'Circle', center: roundPlace(at), radiusM: 200 },
          bufferM: 20,
          schedule: null,
          jurisdictionCode: o.code,
          subjectId,
          tag: 'victim_home',
        });
        zoneIds.push(zoneId);
        exclusionZoneIds.push(zoneId);
      }
    }
    if (ground === 'prohibition_order_violation') {
      for (const shared of sharedZones.get(d.code) ?? []) {
        if (distanceM(places.home, shapeCenter(shared.zone.geometry)) > 8000) continue;
        if (!clearOfRoutes(shared.shape)) continue;
        zoneIds.push(shared.zone.id);
        exclusionZoneIds.push(shared.zone.id);
      }
    }
    for (const zoneId of zoneIds) plan.assignments.push({ subjectId, zoneId });

    // The person, the device, the order.
    let birthMs = Date.UTC(1965, 0, 1) + Math.floor(rng.range(0, 40 * 365.25)) * DAY_MS;
    let idCardNo = '';
    for (;;) {
      const seq = (i % 499) * 2 + 1 + (person.gender === 'male' ? 0 : 1); // odd = male
      idCardNo = syntheticIdCardNo(d.code, isoDate(birthMs), seq);
      if (!usedIdCards.has(idCardNo)) break;
      birthMs += DAY_MS;
    }
    usedIdCards.add(idCardNo);
    const officer = officerOf.get(o.code)!;
    const bureau = bureauOf.get(d.code)!;
    const termStartMs = shanghaiMidnight(referenceMs) - rng.int(60, 900) * DAY_MS;
    const termEndMs = Math.max(
      termStartMs + rng.int(1, 5) * 365 * DAY_MS,
      shanghaiMidnight(referenceMs) + 180 * DAY_MS,
    );
    const correctionType = rng.weighted<CorrectionType>([
      ['probation', 6],
      ['parole', 1.5],
      ['control', 1],
      ['temporary_outside', 1.5],
    ]);
    plan.subjects.push({
      id: subjectId,
      name: person.name,
      idCardNo,
      gender: person.gender,
      birthDate: isoDate(birthMs),
      correctionType,
      termStart: isoDate(termStartMs),
      termEnd: isoDate(termEndMs),
      jurisdictionCode: o.code,
      managementLevel: strict ? 'strict' : 'normal',
      officerId: officer.id,
      homeAddress: `${CITY.nameZh}${d.nameZh}${o.nameZh.replace('司法所', '')}模拟小区${rng.int(1, 30)}栋${rng.int(1, 4)}单元${rng.int(1, 28)}0${rng.int(1, 6)}`,
    });
    plan.devices.push({
      id: deviceId,
      kind: 'wristband',
      jurisdictionCode: o.code,
      vendor: '模拟设备厂 / SimDevices',
      model: 'W1 电子定位腕带（SF/T 0056，北斗/GPS）',
    });
    // Orders started days ago (09:00 China time), each at most 3 months (85 days here).
    const startsMs = shanghaiMidnight(referenceMs) - rng.int(3, 60) * DAY_MS + 3_600_000;
    const year = new Date(startsMs + SHANGHAI_OFFSET_MS).getUTCFullYear();
    const n = (decisionCount.get(d.code) ?? 0) + 1;
    decisionCount.set(d.code, n);
    plan.orders.push({
      id: id(`order:${i}`),
      subjectId,
      deviceId,
      legalGround: ground,
      groundDetail: GROUND_DETAIL[ground],
      decisionNo: `${d.nameZh.slice(0, 2)}司矫定〔${year}〕${n}号`,
      approverName: bureau.displayName.replace(/（.*）$/, ''),
      approverId: bureau.id,
      createdBy: officer.id,
      approvedAt: new Date(startsMs - DAY_MS),
      startsAt: new Date(startsMs),
      endsAt: new Date(startsMs + 85 * DAY_MS),
    });
    plan.wristbands.push({
      kind: 'wristband',
      deviceId,
      index: i,
      subjectId,
      subjectName: person.name,
      officeCode: o.code,
      countyCode: d.code,
      places,
      persona: {
        walkMps: Math.round(rng.range(1.0, 1.5) * 100) / 100,
        driveMps: Math.round(rng.range(8, 15) * 10) / 10,
        startOffsetMin: rng.int(0, 90),
        drainPctPerH: Math.round(rng.range(1.4, 2.2) * 100) / 100,
        checkinWeekday: (i % 5) + 1,
        checkinMinute: rng.int(0, 6 * 60),
      },
      countyZoneId,
      curfewZoneId,
      exclusionZoneIds,
      zoneIds,
    });
  }
  return plan;
}

/** The centre of a circle, or the mean vertex of a polygon's outer ring. */
export function shapeCenter(geometry: ZoneGeometry): LonLat {
  if (geometry.type === 'Circle') return geometry.center;
  const ring =
    geometry.type === 'Polygon' ? geometry.coordinates[0]! : geometry.coordinates[0]![0]!;
  const n = ring.length - 1;
  let lon = 0;
  let lat = 0;
  for (let k = 0; k < n; k++) {
    lon += ring[k]![0];
    lat += ring[k]![1];
  }
  return [lon / n, lat / n];
}
