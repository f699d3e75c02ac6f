/* global __ENV, __VU, __ITER */
// CCM HTTP API load test for k6 (https://grafana.com/docs/k6/): latest positions, a subject's
// track and the police position query, each its own scenario with its own thresholds.
// Run against a deployment you are allowed to load (see bench/k6/README.md):
//
//   k6 run -e BASE_URL=https://ccm.example.internal \
//          -e OFFICER_USER=… -e OFFICER_PASSWORD=… \
//          -e POLICE_USER=… -e POLICE_PASSWORD=… \
//          -e VUS=16 -e DURATION=60s bench/k6/api.js
//
// Every request here is audited by the platform (positions.read, positions.latest,
// police.position_query): run it on a test deployment, or tell the auditors first.
import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const VUS = Number(__ENV.VUS || 16);
const DURATION = __ENV.DURATION || '60s';
const TRACK_DAYS = Number(__ENV.TRACK_DAYS || 1);
const DAY_MS = 86400000;

const notFound = new Counter('ccm_subject_not_found');

export const options = {
  // One scenario after the other, so each request kind is measured alone.
  scenarios: {
    latest: {
      executor: 'constant-vus',
      exec: 'latest',
      vus: VUS,
      duration: DURATION,
      tags: { request: 'latest' },
    },
    track: {
      executor: 'constant-vus',
      exec: 'track',
      vus: VUS,
      duration: DURATION,
      startTime: DURATION,
      tags: { request: 'track' },
    },
    police: {
      executor: 'constant-vus',
      exec: 'police',
      vus: VUS,
      duration: DURATION,
      startTime: addDurations(DURATION, DURATION),
      tags: { request: 'police' },
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{request:latest}': ['p(99)<1000'],
    'http_req_duration{request:track}': ['p(99)<1000'],
    'http_req_duration{request:police}': ['p(99)<1500'],
  },
};

/** "60s" + "60s" → "120s" (k6 durations in s or m only, as used here). */
function addDurations(a, b) {
  const s = (d) => (d.endsWith('m') ? Number(d.slice(0, -1)) * 60 : Number(d.replace(/s$/, '')));
  return `${s(a) + s(b)}s`;
}

function login(username, password) {
  const res = http.post(`${BASE_URL}/api/v1/auth/login`, JSON.stringify({ username, password }), {
    headers: { 'Content-Type': 'application/json' },
    tags: { request: 'login' },
  });
  if (res.status !== 200) fail(`sign-in of ${username} failed: ${res.status} ${res.body}`);
  return res.json('token');
}

// Signs in once and picks the subjects to read from the officer's own latest positions, so
// the script needs no ids: the track and police scenarios read subjects the officer can see.
export function setup() {
  if (!__ENV.OFFICER_USER || !__ENV.OFFICER_PASSWORD) fail('set OFFICER_USER and OFFICER_PASSWORD');
  const officer = login(__ENV.OFFICER_USER, __ENV.OFFICER_PASSWORD);
  const police = __ENV.POLICE_USER ? login(__ENV.POLICE_USER, __ENV.POLICE_PASSWORD) : null;
  const res = http.get(`${BASE_URL}/api/v1/positions/latest?limit=1000`, {
    headers: { Authorization: `Bearer ${officer}` },
  });
  if (res.status !== 200) fail(`latest positions: ${res.status} ${res.body}`);
  const subjects = res.json('items').map((i) => i.subjectId);
  if (subjects.length === 0) fail('the officer sees no subject with a position');
  return { officer, police, subjects };
}

function window(days) {
  const to = Date.now();
  return { from: new Date(to - days * DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

export function latest(data) {
  const res = http.get(`${BASE_URL}/api/v1/positions/latest?limit=1000`, {
    headers: { Authorization: `Bearer ${data.officer}` },
    tags: { name: 'GET /api/v1/positions/latest' },
  });
  check(res, { 'latest 200': (r) => r.status === 200 });
}

export function track(data) {
  const w = window(TRACK_DAYS);
  const id = pick(data.subjects);
  const res = http.get(
    `${BASE_URL}/api/v1/subjects/${id}/positions?from=${encodeURIComponent(w.from)}&to=${encodeURIComponent(w.to)}`,
    {
      headers: { Authorization: `Bearer ${data.officer}` },
      tags: { name: 'GET /api/v1/subjects/:id/positions' },
    },
  );
  if (res.status === 404) notFound.add(1);
  check(res, { 'track 200': (r) => r.status === 200 });
}

export function police(data) {
  if (!data.police) return;
  const w = window(TRACK_DAYS);
  const res = http.post(
    `${BASE_URL}/api/v1/police/position-queries`,
    JSON.stringify({
      subjectId: pick(data.subjects),
      from: w.from,
      to: w.to,
      legalBasis: __ENV.LEGAL_BASIS || '负载测试 / load test (not a real case)',
      caseNumber: `K6-${__VU}-${__ITER}`,
    }),
    {
      headers: { Authorization: `Bearer ${data.police}`, 'Content-Type': 'application/json' },
      tags: { name: 'POST /api/v1/police/position-queries' },
    },
  );
  // 404/403: the subject is outside the police user's jurisdiction or order (still audited).
  check(res, { 'police query 201': (r) => r.status === 201 });
}
