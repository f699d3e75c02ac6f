import type { PolygonGeometry } from '@ccm/contracts';
import { distanceM, lerp, destination, bearingDeg, round6, type LonLat } from './geo';
import { seedOf, Rng } from './random';

/**
 * 广西壮族自治区 → 南宁市 → its 12 districts and counties, with the GB/T 2260 codes every
 * Chinese government system uses (hard-coded: they are stable and well known). Township
 * justice offices (司法所) carry a 9-digit code: the county's 6 digits and a 3-digit
 * sequence of our own (the real township codes are not needed for a demo). Office
 * positions are the township seats, approximately.
 *
 * District outlines are APPROXIMATE: a few dozen vertices per district, built from ~50
 * hand-placed junction points around the real areas (WGS-84), so that neighbouring districts
 * share their borders exactly and together tile Nanning roughly. Good enough to leave a
 * county by car and come back; not a survey, and never to be used as a legal boundary.
 */
export interface District {
  code: string;
  nameZh: string;
  nameEn: string;
  /** ASCII slug for usernames and device ids: `officer.qingxiu1`. */
  slug: string;
  offices: Office[];
}

export interface Office {
  code: string;
  nameZh: string;
  nameEn: string;
  /** Approximate township seat [lon, lat]; the plan moves it inside the outline if needed. */
  at: LonLat;
}

export const PROVINCE = { code: '450000', nameZh: '广西壮族自治区', nameEn: 'Guangxi' } as const;
export const CITY = { code: '450100', nameZh: '南宁市', nameEn: 'Nanning' } as const;

type OfficeRow = [suffix: string, nameZh: string, nameEn: string, lon: number, lat: number];
const district = (
  code: string,
  nameZh: string,
  nameEn: string,
  slug: string,
  offices: OfficeRow[],
): District => ({
  code,
  nameZh,
  nameEn,
  slug,
  offices: offices.map(([suffix, zh, en, lon, lat]) => ({
    code: `${code}${suffix}`,
    nameZh: zh,
    nameEn: en,
    at: [lon, lat],
  })),
});

export const DISTRICTS: readonly District[] = [
  district('450102', '兴宁区', 'Xingning District', 'xingning', [
    ['001', '朝阳司法所', 'Chaoyang Justice Office', 108.335, 22.85],
    ['002', '三塘司法所', 'Santang Justice Office', 108.41, 22.92],
    ['003', '昆仑司法所', 'Kunlun Justice Office', 108.5, 23.05],
  ]),
  district('450103', '青秀区', 'Qingxiu District', 'qingxiu', [
    // 450103001 新竹 is also the test-support township: same name, so both agree.
    ['001', '新竹司法所', 'Xinzhu Justice Office', 108.37, 22.815],
    ['002', '南湖司法所', 'Nanhu Justice Office', 108.4, 22.82],
    ['003', '长塘司法所', 'Changtang Justice Office', 108.58, 22.88],
  ]),
  district('450105', '江南区', 'Jiangnan District', 'jiangnan', [
    ['001', '江南司法所', 'Jiangnan Justice Office', 108.28, 22.78],
    ['002', '沙井司法所', 'Shajing Justice Office', 108.23, 22.75],
    ['003', '吴圩司法所', 'Wuxu Justice Office', 108.18, 22.63],
  ]),
  district('450107', '西乡塘区', 'Xixiangtang District', 'xixiangtang', [
    ['001', '北湖司法所', 'Beihu Justice Office', 108.29, 22.86],
    ['002', '心圩司法所', 'Xinxu Justice Office', 108.26, 22.88],
    ['003', '金陵司法所', 'Jinling Justice Office', 108.03, 22.9],
  ]),
  district('450108', '良庆区', 'Liangqing District', 'liangqing', [
    ['001', '大沙田司法所', 'Dashatian Justice Office', 108.34, 22.74],
    ['002', '良庆司法所', 'Liangqing Justice Office', 108.4, 22.72],
    ['003', '大塘司法所', 'Datang Justice Office', 108.45, 22.47],
  ]),
  district('450109', '邕宁区', 'Yongning District', 'yongning', [
    ['001', '蒲庙司法所', 'Pumiao Justice Office', 108.49, 22.74],
    ['002', '那楼司法所', 'Nalou Justice Office', 108.62, 22.6],
  ]),
  district('450110', '武鸣区', 'Wuming District', 'wuming', [
    ['001', '城厢司法所', 'Chengxiang Justice Office', 108.27, 23.16],
    ['002', '双桥司法所', 'Shuangqiao Justice Office', 108.22, 23.08],
    ['003', '府城司法所', 'Fucheng Justice Office', 108.3, 23.3],
  ]),
  district('450123', '隆安县', 'Long’an County', 'longan', [
    ['001', '城厢司法所', 'Chengxiang Justice Office', 107.69, 23.17],
    ['002', '那桐司法所', 'Natong Justice Office', 107.82, 23.02],
  ]),
  district('450124', '马山县', 'Mashan County', 'mashan', [
    ['001', '白山司法所', 'Baishan Justice Office', 108.17, 23.71],
    ['002', '周鹿司法所', 'Zhoulu Justice Office', 108.3, 23.62],
  ]),
  district('450125', '上林县', 'Shanglin County', 'shanglin', [
    ['001', '大丰司法所', 'Dafeng Justice Office', 108.6, 23.43],
    ['002', '白圩司法所', 'Baixu Justice Office', 108.55, 23.35],
  ]),
  district('450126', '宾阳县', 'Binyang County', 'binyang', [
    ['001', '宾州司法所', 'Binzhou Justice Office', 108.81, 23.22],
    ['002', '黎塘司法所', 'Litang Justice Office', 109.1, 23.2],
    ['003', '新桥司法所', 'Xinqiao Justice Office', 108.7, 23.1],
  ]),
  district('450181', '横州市', 'Hengzhou City', 'hengzhou', [
    ['001', '横州司法所', 'Hengzhou Justice Office', 109.26, 22.68],
    ['002', '六景司法所', 'Liujing Justice Office', 108.86, 22.84],
    ['003', '峦城司法所', 'Luancheng Justice Office', 109.05, 22.55],
  ]),
];

export const districtByCode = (code: string): District | undefined =>
  DISTRICTS.find((d) => d.code === code || code.startsWith(d.code));

/**
 * Junction points of the approximate outlines, [lon, lat]. Each district's ring is a list of
 * these; a border between two districts is the same pair of points in both rings, and its
 * intermediate vertices depend only on that pair, so shared borders coincide exactly.
 */
const NODES: Readonly<Record<string, LonLat>> = {
  C: [108.32, 22.81], // 邕江 in the city centre: 兴宁/青秀/江南/西乡塘/良庆
  S1: [108.3, 23.0],
  N: [108.4, 23.08],
  K: [108.5, 23.12],
  P5: [108.58, 23.02],
  G: [108.45, 22.9],
  P4: [108.75, 22.95],
  Q1: [108.75, 22.78],
  Y1: [108.45, 22.78],
  L2: [108.52, 22.55],
  L1: [108.7, 22.38],
  L3: [108.45, 22.28],
  L4: [108.25, 22.45],
  L5: [108.3, 22.65],
  E1: [108.05, 22.5],
  E2: [107.88, 22.68],
  X1: [107.85, 22.9],
  R: [108.1, 22.8],
  X2: [107.88, 23.05],
  X3: [108.05, 23.08],
  A: [107.95, 23.5],
  W1: [108.2, 23.5],
  B: [108.42, 23.55],
  U5: [108.42, 23.38],
  U4: [108.58, 23.28],
  U3: [108.8, 23.38],
  U2: [108.92, 23.5],
  U1: [108.75, 23.66],
  M5: [108.52, 23.68],
  M4: [108.45, 23.9],
  M3: [108.25, 24.05],
  M2: [108.05, 23.98],
  M1: [107.92, 23.75],
  P1: [109.15, 23.4],
  P2: [109.2, 23.15],
  P3: [109.05, 23.0],
  H1: [109.45, 23.05],
  H2: [109.62, 22.8],
  H3: [109.5, 22.45],
  H4: [109.2, 22.3],
  H5: [108.95, 22.4],
  H6: [108.82, 22.62],
  T1: [107.55, 22.88],
  T2: [107.35, 23.05],
  T3: [107.4, 23.3],
  T4: [107.65, 23.45],
};

const RINGS: Readonly<Record<string, readonly string[]>> = {
  '450102': ['C', 'G', 'P5', 'K', 'N', 'S1'],
  '450103': ['C', 'Y1', 'Q1', 'P4', 'P5', 'G'],
  '450105': ['C', 'R', 'X1', 'E2', 'E1', 'L4', 'L5'],
  '450107': ['C', 'S1', 'X3', 'X2', 'X1', 'R'],
  '450108': ['C', 'L5', 'L4', 'L3', 'L1', 'L2', 'Y1'],
  '450109': ['Y1', 'L2', 'L1', 'H5', 'H6', 'Q1'],
  '450110': ['S1', 'N', 'K', 'U4', 'U5', 'B', 'W1', 'A', 'X2', 'X3'],
  '450123': ['X1', 'X2', 'A', 'T4', 'T3', 'T2', 'T1'],
  '450124': ['A', 'W1', 'B', 'M5', 'M4', 'M3', 'M2', 'M1'],
  '450125': ['B', 'U5', 'U4', 'U3', 'U2', 'U1', 'M5'],
  '450126': ['K', 'P5', 'P4', 'P3', 'P2', 'P1', 'U2', 'U3', 'U4'],
  '450181': ['P4', 'Q1', 'H6', 'H5', 'H4', 'H3', 'H2', 'H1', 'P3'],
};

/** Longest straight piece of a border, metres; longer borders get wiggled vertices. */
const MAX_PIECE_M = 6000;

/** The vertices strictly between two junctions, in the a→b direction. */
function borderBetween(a: string, b: string): LonLat[] {
  // Computed for the sorted pair, so both neighbours get the same points.
  const [first, second] = a < b ? [a, b] : [b, a];
  const p = NODES[first]!;
  const q = NODES[second]!;
  const pieces = Math.max(1, Math.ceil(distanceM(p, q) / MAX_PIECE_M));
  const rng = new Rng(seedOf('border', first, second));
  const brg = bearingDeg(p, q);
  const pieceM = distanceM(p, q) / pieces;
  const inner: LonLat[] = [];
  for (let i = 1; i < pieces; i++) {
    // Rivers and ridges: a sideways wiggle of up to 12 % of a piece.
    inner.push(destination(lerp(p, q, i / pieces), brg + 90, rng.range(-0.12, 0.12) * pieceM));
  }
  return first === a ? inner : inner.reverse();
}

/** The approximate outline of a district (closed ring, counter-clockwise), WGS-84. */
export function districtOutline(code: string): PolygonGeometry {
  const names = RINGS[code];
  if (!names) throw new Error(`no outline for district ${code}`);
  const ring: LonLat[] = [];
  for (let i = 0; i < names.length; i++) {
    const a = names[i]!;
    const b = names[(i + 1) % names.length]!;
    ring.push(NODES[a]!, ...borderBetween(a, b));
  }
  if (signedArea(ring) < 0) ring.reverse();
  const closed = [...ring, ring[0]!].map(([lon, lat]): LonLat => [round6(lon), round6(lat)]);
  return { type: 'Polygon', coordinates: [closed] };
}

function signedArea(ring: readonly LonLat[]): number {
  let s = 0;
  for (let i = 0; i < ring.length; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[(i + 1) % ring.length]!;
    s += x1 * y2 - x2 * y1;
  }
  return s / 2;
}
