import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '@ccm/db';
import { hashDeviceSecret } from '@ccm/device-gateway';
import { syntheticIdCardNo } from '@ccm/simulators';
import { monthOf, monthRange, previousMonth } from '../src/assessments';
import { METRIC_COLUMNS } from '../src/reports/render';
import { A, B, expectMatrix, startTestServer, type TestServer } from './support';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Last month (China time): over, so its history may be written straight to the tables. */
const M = previousMonth(monthOf(Date.now()));
const M0 = previousMonth(M);
const r = monthRange(M);
const r0 = monthRange(M0);
const at = (d: number, h = 12) => new Date(r.from.getTime() + (d - 1) * DAY + h * HOUR);
const at0 = (d: number, h = 12) => new Date(r0.from.getTime() + (d - 1) * DAY + h * HOUR);

let seq = 0;
async function subject(
  db: Kysely<DB>,
  township: string,
  level: 'strict' | 'normal' | 'lenient',
  status: 'active' | 'absconded' | 'ended' = 'active',
  termEnd = '2030-12-31',
) {
  seq++;
  const row = await db
    .insertInto('subjects')
    .values({
      name: `报表测试${seq}`,
      id_card_no: syntheticIdCardNo(township.slice(0, 6), '1979-02-03', seq),
      correction_type: 'parole',
      term_start: '2026-01-01',
      term_end: termEnd,
      jurisdiction_code: township,
      management_level: level,
      status,
      created_at: new Date('2026-01-01T00:00:00Z'),
    })
    .returning(['id', 'id_card_no'])
    .executeTakeFirstOrThrow();
  return row;
}

async function alert(
  db: Kysely<DB>,
  subjectId: string,
  township: string,
  type: 'zone_exit' | 'curfew' | 'no_signal' | 'sos',
  startedAt: Date,
  outcome: 'open' | 'acknowledged' | { resolution: string },
) {
  seq++;
  const resolved = typeof outcome === 'object';
  await db
    .insertInto('alerts')
    .values({
      type,
      severity: type === 'sos' ? 'critical' : 'high',
      status: resolved ? 'resolved' : outcome,
      subject_id: subjectId,
      jurisdiction_code: township,
      dedupe_key: `${subjectId}/${type}/${seq}`,
      started_at: startedAt,
      ended_at: outcome === 'open' ? null : new Date(startedAt.getTime() + HOUR),
      raised_at: startedAt,
      resolution: resolved ? outcome.resolution : null,
      resolved_at: resolved ? new Date(startedAt.getTime() + 2 * HOUR) : null,
    })
    .execute();
}

async function checkin(
  db: Kysely<DB>,
  subjectId: string,
  dueAt: Date,
  status: 'met' | 'missed' | 'cancelled',
) {
  await db
    .insertInto('checkin_requests')
    .values({
      subject_id: subjectId,
      kind: 'scheduled',
      window_start: new Date(dueAt.getTime() - 8 * HOUR),
      due_at: dueAt,
      status,
      met_at: status === 'met' ? new Date(dueAt.getTime() - HOUR) : null,
    })
    .execute();
}

async function order(
  db: Kysely<DB>,
  subjectId: string,
  township: string,
  o: { startsAt: Date; endsAt: Date; initialEndsAt?: Date; endedAt?: Date; decisionNo: string },
) {
  seq++;
  const deviceId = `rep-dev-${seq}`;
  await db
    .insertInto('devices')
    .values({
      id: deviceId,
      kind: 'wristband',
      secret_hash: hashDeviceSecret('not-a-real-secret'),
      jurisdiction_code: township,
    })
    .execute();
  const row = await db
    .insertInto('monitoring_orders')
    .values({
      subject_id: subjectId,
      device_id: deviceId,
      legal_ground: 'left_without_approval',
      ground_detail: '未经批准离开南宁市',
      decision_no: o.decisionNo,
      approver_name: '王局长',
      approved_at: o.startsAt,
      starts_at: o.startsAt,
      initial_ends_at: o.initialEndsAt ?? o.endsAt,
      ends_at: o.endsAt,
      ended_at: o.endedAt ?? null,
      end_reason: o.endedAt ? '已无必要 / no longer needed' : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function sanction(
  db: Kysely<DB>,
  subjectId: string,
  kind: 'admonition' | 'warning',
  at: Date,
) {
  await db
    .insertInto('sanctions')
    .values({ subject_id: subjectId, kind, decided_at: at, reason: '违反监督管理规定' })
    .execute();
}

async function leave(
  db: Kysely<DB>,
  subjectId: string,
  township: string,
  l: {
    status: 'approved' | 'pending' | 'rejected';
    decidedAt?: Date;
    startsAt: Date;
    endsAt: Date;
    returnStatus?: 'returned' | 'not_returned';
  },
) {
  await db
    .insertInto('leave_requests')
    .values({
      subject_id: subjectId,
      jurisdiction_code: township,
      destination: '柳州市',
      destination_geometry: JSON.stringify({
        type: 'Circle',
        center: [109.41, 24.33],
        radiusM: 5000,
      }),
      reason: '探望病重亲属',
      starts_at: l.startsAt,
      ends_at: l.endsAt,
      approval_level: 'township',
      status: l.status,
      decided_at: l.decidedAt ?? null,
      return_status: l.returnStatus ?? null,
      return_checked_at: l.returnStatus ? l.endsAt : null,
    })
    .execute();
}

/** Splits one CSV line (the fields this report writes: quoted when they hold , or "). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      fields.push(value);
      i++; // the comma
    } else {
      const end = line.indexOf(',', i);
      const stop = end === -1 ? line.length : end;
      fields.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return fields;
}

function parseCsv(body: string) {
  expect(body.startsWith('\uFEFF')).toBe(true);
  const lines = body.slice(1).split('\r\n').filter(Boolean);
  const header = csvFields(lines[0]!);
  return {
    header,
    rows: lines.slice(1).map((l) => {
      const f = csvFields(l);
      return Object.fromEntries(header.map((h, i) => [h, f[i]!]));
    }),
  };
}

/** The value at a dotted path of the JSON metrics, as the CSV and HTML print it. */
function printed(metrics: unknown, key: string): string {
  let v: unknown = metrics;
  for (const part of key.split('.')) v = (v as Record<string, unknown>)[part];
  if (key === 'checkins.rate') return v === null ? '' : `${Math.round((v as number) * 1000) / 10}%`;
  return String(v);
}

describe('reports a bureau sends up', () => {
  let s: TestServer;
  const ids: Record<string, { id: string; id_card_no: string }> = {};
  const orders: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer();
    const db = s.db;
    ids.a1 = await subject(db, A.township, 'strict');
    ids.a2 = await subject(db, A.township, 'normal');
    ids.a3 = await subject(db, A.township, 'lenient', 'absconded');
    ids.a4 = await subject(db, A.township, 'strict', 'ended', '2026-03-31'); // not on the register
    ids.b1 = await subject(db, B.township, 'normal');

    // Alerts that started in the month, by outcome now; one of the month before.
    await alert(db, ids.a1.id, A.township, 'zone_exit', at(3), 'open');
    await alert(db, ids.a1.id, A.township, 'zone_exit', at(9), {
      resolution: 'confirmed_violation',
    });
    await alert(db, ids.a2.id, A.township, 'curfew', at(12, 23), 'acknowledged');
    await alert(db, ids.a2.id, A.township, 'no_signal', at(14), { resolution: 'false_alarm' });
    await alert(db, ids.a3.id, A.township, 'no_signal', at(20), { resolution: 'withdrawn' });
    await alert(db, ids.b1.id, B.township, 'sos', at(6), 'open');
    await alert(db, ids.a1.id, A.township, 'zone_exit', at0(20), {
      resolution: 'confirmed_violation',
    });

    for (const d of [2, 9, 16]) await checkin(db, ids.a1.id, at(d, 18), 'met');
    await checkin(db, ids.a1.id, at(23, 18), 'missed');
    await checkin(db, ids.a2.id, at(4, 18), 'cancelled');
    await checkin(db, ids.a2.id, at(11, 18), 'missed');
    await checkin(db, ids.b1.id, at(5, 18), 'met');
    await checkin(db, ids.b1.id, at(19, 18), 'met');
    await checkin(db, ids.a1.id, at0(25, 18), 'met');

    orders.started = await order(db, ids.a1.id, A.township, {
      startsAt: at(5),
      endsAt: new Date(at(5).getTime() + 60 * DAY),
      decisionNo: '青司矫定〔2026〕101号',
    });
    const extendedInitialEnd = new Date(at0(2).getTime() + 40 * DAY);
    orders.extended = await order(db, ids.a2.id, A.township, {
      startsAt: at0(2),
      initialEndsAt: extendedInitialEnd,
      endsAt: new Date(extendedInitialEnd.getTime() + 30 * DAY),
      decisionNo: '青司矫定〔2026〕102号',
    });
    await db
      .insertInto('monitoring_order_extensions')
      .values({
        order_id: orders.extended,
        previous_ends_at: extendedInitialEnd,
        new_ends_at: new Date(extendedInitialEnd.getTime() + 30 * DAY),
        reason: '仍有违规风险',
        status: 'approved',
        requested_at: at(1),
        decided_at: at(8),
        decided_by: s.userIds.bureauA,
      })
      .execute();
    orders.ended = await order(db, ids.a3.id, A.township, {
      startsAt: at0(5),
      endsAt: new Date(at0(5).getTime() + 60 * DAY),
      endedAt: at(12),
      decisionNo: '青司矫定〔2026〕103号',
    });
    orders.expired = await order(db, ids.a1.id, A.township, {
      startsAt: at0(1),
      endsAt: at(3),
      decisionNo: '青司矫定〔2026〕104号',
    });
    orders.b = await order(db, ids.b1.id, B.township, {
      startsAt: at(7),
      endsAt: new Date(at(7).getTime() + 40 * DAY),
      decisionNo: '江司矫定〔2026〕201号',
    });

    await sanction(db, ids.a1.id, 'admonition', at(10));
    await sanction(db, ids.a2.id, 'admonition', at(11));
    await sanction(db, ids.a3.id, 'warning', at(12));
    await sanction(db, ids.a1.id, 'admonition', at0(10));

    await leave(db, ids.a2.id, A.township, {
      status: 'approved',
      decidedAt: at(4),
      startsAt: at(5),
      endsAt: at(8),
      returnStatus: 'returned',
    });
    await leave(db, ids.a1.id, A.township, {
      status: 'approved',
      decidedAt: at(14),
      startsAt: at(15),
      endsAt: at(18),
      returnStatus: 'not_returned',
    });
    await leave(db, ids.a1.id, A.township, { status: 'pending', startsAt: at(25), endsAt: at(26) });
    await leave(db, ids.b1.id, B.township, {
      status: 'rejected',
      decidedAt: at(6),
      startsAt: at(7),
      endsAt: at(9),
    });
  });
  afterAll(async () => s?.close());

  const monthly = (user: Parameters<TestServer['as']>[0], query: string) =>
    s.as(user, { url: `/api/v1/reports/monthly?month=${M}${query}` });

  /** The month on side A, as the test wrote it. */
  const sideA = {
    subjects: {
      total: 3,
      byLevel: { strict: 1, normal: 1, lenient: 1 },
      byStatus: { active: 2, absconded: 1, suspended: 0, ended: 0 },
    },
    alerts: {
      total: 5,
      open: 1,
      acknowledged: 1,
      resolved: 3,
      byResolution: { confirmed_violation: 1, false_alarm: 1, withdrawn: 1, device_fault: 0 },
      byType: {
        zone_exit: { total: 2, open: 1, resolved: 1, byResolution: { confirmed_violation: 1 } },
        curfew: { total: 1, acknowledged: 1 },
        no_signal: { total: 2, resolved: 2, byResolution: { false_alarm: 1, withdrawn: 1 } },
        sos: { total: 0 },
      },
    },
    checkins: { met: 3, missed: 2, cancelled: 1, pending: 0, rate: 0.6 },
    orders: { started: 1, extended: 1, ended: 1, expired: 1 },
    sanctions: { total: 3, admonition: 2, warning: 1, revocation_request: 0 },
    leave: { approved: 2, returned: 1, notReturned: 1 },
  };
  const sideB = {
    subjects: { total: 1, byLevel: { strict: 0, normal: 1, lenient: 0 } },
    alerts: { total: 1, open: 1, byType: { sos: { total: 1, open: 1 } } },
    checkins: { met: 2, missed: 0, rate: 1 },
    orders: { started: 1, extended: 0, ended: 0, expired: 0 },
    sanctions: { total: 0 },
    leave: { approved: 0, returned: 0, notReturned: 0 },
  };

  it('access: readers in scope, police never; every read is audited', async () => {
    const readers = {
      admin: 200,
      bureauA: 200,
      policeA: 403,
      auditorA: 200,
      officerA: 200,
      bureauB: 200,
      policeB: 403,
      auditorB: 200,
      officerB: 200,
    } as const;
    await expectMatrix(readers, (u) => monthly(u, ''));
    const sideAOnly = { ...readers, officerA: 404, bureauB: 404, auditorB: 404, officerB: 404 };
    await expectMatrix(sideAOnly, (u) => monthly(u, `&jurisdiction=${A.county}&format=csv`));
    const days = `from=${r.firstDay}&to=${r.lastDay}`;
    await expectMatrix(readers, (u) =>
      s.as(u, { url: `/api/v1/reports/monitoring-orders?${days}` }),
    );
    await expectMatrix(sideAOnly, (u) =>
      s.as(u, { url: `/api/v1/reports/monitoring-orders?${days}&jurisdiction=${A.county}` }),
    );
    const audited = await s.db
      .selectFrom('audit_log')
      .select(['action', 'actor_username', 'jurisdiction_code', 'detail'])
      .where('action', 'in', ['report.monthly', 'report.monitoring_orders'])
      .execute();
    expect(audited).toHaveLength(2 * 7 + 2 * 3);
    expect(audited).toContainEqual({
      action: 'report.monthly',
      actor_username: 'auditorA',
      jurisdiction_code: A.county,
      detail: expect.objectContaining({ month: M, format: 'csv' }),
    });
  });

  it('refuses a month that has not begun and days in the wrong order', async () => {
    const future = monthOf(Date.now() + 40 * DAY);
    const notBegun = await s.as('bureauA', { url: `/api/v1/reports/monthly?month=${future}` });
    expect(notBegun.statusCode).toBe(400);
    const bad = await s.as('bureauA', {
      url: `/api/v1/reports/monitoring-orders?from=${r.lastDay}&to=${r.firstDay}`,
    });
    expect(bad.statusCode).toBe(400);
  });

  it('the city’s report: one row per county with the numbers the month holds, and a total', async () => {
    const res = await monthly('admin', '&jurisdiction=450100');
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({
      month: M,
      jurisdiction: { code: '450100', nameZh: '南宁市' },
      period: { from: r.from.toISOString(), to: r.to.toISOString() },
    });
    expect(report.rows.map((x: { code: string; nameZh: string }) => [x.code, x.nameZh])).toEqual([
      [A.county, '青秀区'],
      [B.county, '江南区'],
    ]);
    expect(report.rows[0].metrics).toMatchObject(sideA);
    expect(report.rows[1].metrics).toMatchObject(sideB);
    expect(report.total).toMatchObject({
      subjects: { total: 4, byLevel: { strict: 1, normal: 2, lenient: 1 } },
      alerts: { total: 6, open: 2, acknowledged: 1, resolved: 3 },
      checkins: { met: 5, missed: 2, cancelled: 1, rate: 0.7143 },
      orders: { started: 2, extended: 1, ended: 1, expired: 1 },
      sanctions: { total: 3, admonition: 2, warning: 1 },
      leave: { approved: 2, returned: 1, notReturned: 1 },
    });
    // The county's own report has its office as the one row; the office's, itself.
    const county = (await monthly('bureauA', '')).json();
    expect(county.rows.map((x: { code: string }) => x.code)).toEqual([A.township]);
    expect(county.total).toMatchObject(sideA);
    const office = (await monthly('officerA', '')).json();
    expect(office.rows).toEqual([
      expect.objectContaining({ code: A.township, nameZh: '新竹司法所' }),
    ]);
    expect(office.total).toMatchObject(sideA);
  });

  it('CSV (BOM, zh/en headers) and the printable page carry the same numbers as the JSON', async () => {
    const json = (await monthly('admin', '&jurisdiction=450100')).json();
    const csvRes = await monthly('admin', '&jurisdiction=450100&format=csv');
    expect(csvRes.statusCode).toBe(200);
    expect(csvRes.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csvRes.headers['content-disposition']).toContain(`ccm-monthly-450100-${M}.csv`);
    const csv = parseCsv(csvRes.body);
    expect(csv.header.slice(0, 4)).toEqual([
      '月份 / Month',
      '辖区代码 / Jurisdiction code',
      '辖区 / Jurisdiction',
      '在册对象 / Subjects',
    ]);
    expect(csv.rows.map((x) => x['辖区代码 / Jurisdiction code'])).toEqual([
      A.county,
      B.county,
      '',
    ]);
    const [qingxiu, , total] = csv.rows;
    expect(qingxiu).toMatchObject({
      '在册对象 / Subjects': '3',
      '告警合计 / Alerts': '5',
      '告警·越界（离开活动区域） / Alerts: Left inclusion zone': '2',
      '已处置·误报 / Resolved: false alarm': '1',
      '核查率 / Check-in rate': '60%',
      '新增电子定位 / Orders started': '1',
      '批准延期 / Orders extended': '1',
      '提前解除 / Orders ended early': '1',
      '到期 / Orders expired': '1',
      '训诫 / Sanctions: admonition': '2',
      '按期返回 / Returned on time': '1',
    });
    expect(total).toMatchObject({
      '辖区 / Jurisdiction': '合计 / Total',
      '告警合计 / Alerts': '6',
      '核查率 / Check-in rate': '71.4%',
      '新增电子定位 / Orders started': '2',
    });

    const htmlRes = await monthly('admin', '&jurisdiction=450100&format=html');
    expect(htmlRes.statusCode).toBe(200);
    expect(htmlRes.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = htmlRes.body;
    const [year, month] = M.split('-');
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain(
      `<title>南宁市 ${year}年${Number(month)}月社区矫正监管月度统计报表</title>`,
    );
    expect(html).toContain('@media print');
    expect(html).toMatch(
      /生成时间 \/ Generated: <span data-k="generatedAt">\d{4}-\d{2}-\d{2} \d{2}:\d{2}<\/span>/,
    );

    /** Every cell of one row of the page, by its data-k. */
    const htmlCells = (row: string) => {
      const cells = new Map<string, string>();
      const rowRe = new RegExp(`<tr data-row="${row}"[^>]*>(.*?)</tr>`, 'g');
      for (const m of html.matchAll(rowRe)) {
        for (const c of m[1]!.matchAll(/<td data-k="([^"]+)">([^<]*)<\/td>/g))
          cells.set(c[1]!, c[2]!);
      }
      return cells;
    };
    // Each number in the CSV and on the page is the JSON's, row by row (the column list only
    // maps CSV headers to JSON keys; the values are read from the JSON by path).
    const metricHeaders = csv.header.slice(3);
    expect(metricHeaders.length).toBeGreaterThan(40);
    for (const [i, row] of [
      json.rows[0],
      json.rows[1],
      { code: 'total', metrics: json.total },
    ].entries()) {
      const cells = htmlCells(row.code);
      expect(cells.size).toBe(metricHeaders.length);
      for (const [key, value] of cells) {
        expect(value === '—' ? '' : value, `${row.code} ${key}`).toBe(printed(row.metrics, key));
      }
      const csvRow = csv.rows[i]!;
      for (const c of METRIC_COLUMNS) {
        expect(csvRow[`${c.zh} / ${c.en}`], `${row.code} ${c.key}`).toBe(
          printed(row.metrics, c.key),
        );
      }
    }
    // The type × outcome table of the total.
    const types = htmlCells('type:no_signal');
    expect(types.get('alerts.byType.no_signal.byResolution.withdrawn')).toBe('1');
    expect(types.get('alerts.byType.no_signal.total')).toBe('2');
  });

  it('the register of monitoring orders: ground, approver, extensions, end and days used', async () => {
    const url = `/api/v1/reports/monitoring-orders?from=${r.firstDay}&to=${r.lastDay}`;
    const res = await s.as('bureauA', { url });
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report.idCardMasked).toBe(false);
    const byNo = Object.fromEntries(
      report.items.map((o: { decisionNo: string }) => [o.decisionNo, o]),
    );
    expect(report.items.map((o: { orderId: string }) => o.orderId)).toEqual([
      orders.expired,
      orders.extended,
      orders.ended,
      orders.started,
    ]);
    expect(byNo['青司矫定〔2026〕101号']).toMatchObject({
      subjectId: ids.a1!.id,
      idCardNo: ids.a1!.id_card_no,
      legalGround: 'left_without_approval',
      legalGroundLabel: { zh: '无正当理由未经批准离开所居住的市、县' },
      approverName: '王局长',
      jurisdictionName: '新竹司法所',
      extensions: [],
    });
    expect(byNo['青司矫定〔2026〕102号'].extensions).toHaveLength(1);
    expect(byNo['青司矫定〔2026〕103号']).toMatchObject({
      status: 'ended',
      statusLabel: { zh: '已解除' },
      endedAt: at(12).toISOString(),
      daysUsed: Math.floor((at(12).getTime() - at0(5).getTime()) / DAY),
    });
    expect(byNo['青司矫定〔2026〕104号']).toMatchObject({
      status: 'expired',
      endedAt: null,
      daysUsed: Math.floor((at(3).getTime() - at0(1).getTime()) / DAY),
    });

    // The procuratorate sees masked ID numbers, in JSON and CSV alike.
    const masked = (await s.as('auditorA', { url })).json();
    expect(masked.idCardMasked).toBe(true);
    expect(masked.items[0].idCardNo).toMatch(/^\d{4}\*{10}[0-9X]{4}$/);
    const csvRes = await s.as('auditorA', { url: `${url}&format=csv` });
    expect(csvRes.headers['content-type']).toBe('text/csv; charset=utf-8');
    const csv = parseCsv(csvRes.body);
    expect(csv.rows).toHaveLength(4);
    expect(csv.rows.map((x) => x['决定文书编号 / Decision no.'])).toEqual(
      masked.items.map((o: { decisionNo: string }) => o.decisionNo),
    );
    expect(csv.rows.map((x) => x['身份证号 / ID card no.'])).toEqual(
      masked.items.map((o: { idCardNo: string }) => o.idCardNo),
    );
    expect(csv.rows.map((x) => x['已用天数 / Days used'])).toEqual(
      masked.items.map((o: { daysUsed: number }) => String(o.daysUsed)),
    );
    expect(csv.rows[1]!['延期次数 / Extensions']).toBe('1');
    expect(csv.rows[2]!['状态 / Status']).toBe('已解除 / ended');
    expect(csvRes.body).not.toContain(ids.a1!.id_card_no);
  });
});
