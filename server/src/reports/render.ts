import { ALERT_TYPE_LABELS, ALERT_TYPES } from '@ccm/contracts';
import { chinaDateTime, monthRange } from '../assessments/month';
import { LEVEL_LABELS, SANCTION_LABELS } from '../assessments/rules';
import { REPORT_RESOLUTIONS, RESOLUTION_LABELS, SUBJECT_STATUS_LABELS } from './labels';
import type { MonthlyReport, ReportMetrics } from './monthly';

/**
 * CSV and printable HTML of the reports. Both are built from one column list, so the two
 * always carry the same numbers as the JSON. CSV starts with a UTF-8 BOM and uses CRLF, which
 * is what Excel on a Chinese Windows needs to open it without garbling; headers are
 * "中文 / English".
 */
export interface Column<R> {
  /** Dotted key into the JSON metrics (the HTML cell's data-k), e.g. alerts.byType.sos.total. */
  key: string;
  zh: string;
  en: string;
  value: (row: R) => string | number | null;
}

const BOM = '\uFEFF';

/** A CSV field: quoted when needed; text that Excel would run as a formula is defused. */
function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv<R>(columns: Column<R>[], rows: R[]): string {
  const lines = [
    columns.map((c) => csvField(`${c.zh} / ${c.en}`)).join(','),
    ...rows.map((r) => columns.map((c) => csvField(c.value(r))).join(',')),
  ];
  return `${BOM}${lines.join('\r\n')}\r\n`;
}

export const percent = (rate: number | null): string | null =>
  rate === null ? null : `${Math.round(rate * 1000) / 10}%`;

const metric = (
  key: string,
  zh: string,
  en: string,
  value: (m: ReportMetrics) => number | string | null,
): Column<ReportMetrics> => ({ key, zh, en, value });

/** Every number of the monthly report, in the order the CSV prints them. */
export const METRIC_COLUMNS: Column<ReportMetrics>[] = [
  metric('subjects.total', '在册对象', 'Subjects', (m) => m.subjects.total),
  ...(['strict', 'normal', 'lenient'] as const).map((l) =>
    metric(
      `subjects.byLevel.${l}`,
      LEVEL_LABELS[l].zh,
      `Level: ${LEVEL_LABELS[l].en}`,
      (m) => m.subjects.byLevel[l],
    ),
  ),
  ...(['active', 'absconded', 'suspended', 'ended'] as const).map((s) =>
    metric(
      `subjects.byStatus.${s}`,
      SUBJECT_STATUS_LABELS[s]!.zh,
      `Status: ${SUBJECT_STATUS_LABELS[s]!.en}`,
      (m) => m.subjects.byStatus[s],
    ),
  ),
  metric('alerts.total', '告警合计', 'Alerts', (m) => m.alerts.total),
  ...ALERT_TYPES.map((t) =>
    metric(
      `alerts.byType.${t}.total`,
      `告警·${ALERT_TYPE_LABELS[t].zh}`,
      `Alerts: ${ALERT_TYPE_LABELS[t].en}`,
      (m) => m.alerts.byType[t]?.total ?? 0,
    ),
  ),
  metric('alerts.open', '未处置', 'Open', (m) => m.alerts.open),
  metric('alerts.acknowledged', '处置中', 'Acknowledged', (m) => m.alerts.acknowledged),
  metric('alerts.resolved', '已处置', 'Resolved', (m) => m.alerts.resolved),
  ...REPORT_RESOLUTIONS.map((r) =>
    metric(
      `alerts.byResolution.${r}`,
      `已处置·${RESOLUTION_LABELS[r]!.zh}`,
      `Resolved: ${RESOLUTION_LABELS[r]!.en}`,
      (m) => m.alerts.byResolution[r] ?? 0,
    ),
  ),
  metric('checkins.met', '核查按时完成', 'Check-ins met', (m) => m.checkins.met),
  metric('checkins.missed', '核查未按时', 'Check-ins missed', (m) => m.checkins.missed),
  metric('checkins.cancelled', '核查已取消', 'Check-ins cancelled', (m) => m.checkins.cancelled),
  metric('checkins.pending', '核查待完成', 'Check-ins pending', (m) => m.checkins.pending),
  metric('checkins.rate', '核查率', 'Check-in rate', (m) => percent(m.checkins.rate)),
  metric('orders.started', '新增电子定位', 'Orders started', (m) => m.orders.started),
  metric('orders.extended', '批准延期', 'Orders extended', (m) => m.orders.extended),
  metric('orders.ended', '提前解除', 'Orders ended early', (m) => m.orders.ended),
  metric('orders.expired', '到期', 'Orders expired', (m) => m.orders.expired),
  metric('sanctions.total', '处罚合计', 'Sanctions', (m) => m.sanctions.total),
  ...(['admonition', 'warning', 'revocation_request'] as const).map((k) =>
    metric(
      `sanctions.${k}`,
      SANCTION_LABELS[k].zh,
      `Sanctions: ${SANCTION_LABELS[k].en}`,
      (m) => m.sanctions[k],
    ),
  ),
  metric('leave.approved', '批准外出', 'Leave approved', (m) => m.leave.approved),
  metric('leave.returned', '按期返回', 'Returned on time', (m) => m.leave.returned),
  metric('leave.notReturned', '未按期返回', 'Not returned', (m) => m.leave.notReturned),
];

interface ReportLine {
  code: string;
  nameZh: string;
  metrics: ReportMetrics;
}

const lines = (report: MonthlyReport): ReportLine[] => [
  ...report.rows.map((r) => ({ code: r.code, nameZh: r.nameZh, metrics: r.metrics })),
  { code: '', nameZh: '合计', metrics: report.total },
];

export function monthlyCsv(report: MonthlyReport): string {
  const columns: Column<ReportLine>[] = [
    { key: 'month', zh: '月份', en: 'Month', value: () => report.month },
    { key: 'code', zh: '辖区代码', en: 'Jurisdiction code', value: (l) => l.code },
    {
      key: 'name',
      zh: '辖区',
      en: 'Jurisdiction',
      value: (l) => (l.code ? l.nameZh : '合计 / Total'),
    },
    ...METRIC_COLUMNS.map((c) => ({ ...c, value: (l: ReportLine) => c.value(l.metrics) })),
  ];
  return toCsv(columns, lines(report));
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function table(title: string, columns: Column<ReportMetrics>[], report: MonthlyReport): string {
  const head = columns
    .map((c) => `<th>${escapeHtml(c.zh)}<br><small>${escapeHtml(c.en)}</small></th>`)
    .join('');
  const body = lines(report)
    .map((l) => {
      const cells = columns
        .map(
          (c) =>
            `<td data-k="${escapeHtml(c.key)}">${escapeHtml(String(c.value(l.metrics) ?? '—'))}</td>`,
        )
        .join('');
      const name = l.code
        ? `${escapeHtml(l.nameZh)}<br><small>${escapeHtml(l.code)}</small>`
        : '合计 / Total';
      return `<tr data-row="${l.code ? escapeHtml(l.code) : 'total'}"${l.code ? '' : ' class="total"'}><th scope="row">${name}</th>${cells}</tr>`;
    })
    .join('\n');
  return `<section><h2>${title}</h2><table><thead><tr><th>辖区<br><small>Jurisdiction</small></th>${head}</tr></thead><tbody>\n${body}\n</tbody></table></section>`;
}

/** Alerts of the total by type (rows) and outcome (columns). */
function alertTypeTable(report: MonthlyReport): string {
  const outcomes: { key: string; zh: string; en: string }[] = [
    { key: 'total', zh: '合计', en: 'Total' },
    { key: 'open', zh: '未处置', en: 'Open' },
    { key: 'acknowledged', zh: '处置中', en: 'Acknowledged' },
    { key: 'resolved', zh: '已处置', en: 'Resolved' },
    ...REPORT_RESOLUTIONS.map((r) => ({
      key: `byResolution.${r}`,
      zh: RESOLUTION_LABELS[r]!.zh,
      en: RESOLUTION_LABELS[r]!.en,
    })),
  ];
  const head = outcomes
    .map((o) => `<th>${escapeHtml(o.zh)}<br><small>${escapeHtml(o.en)}</small></th>`)
    .join('');
  const body = ALERT_TYPES.map((t) => {
    const c = report.total.alerts.byType[t]!;
    const cells = outcomes
      .map((o) => {
        const v = o.key.startsWith('byResolution.')
          ? (c.byResolution[o.key.slice(13)] ?? 0)
          : (c[o.key as 'total' | 'open' | 'acknowledged' | 'resolved'] ?? 0);
        return `<td data-k="alerts.byType.${t}.${o.key}">${v}</td>`;
      })
      .join('');
    return `<tr data-row="type:${t}"><th scope="row">${escapeHtml(ALERT_TYPE_LABELS[t].zh)}<br><small>${escapeHtml(ALERT_TYPE_LABELS[t].en)}</small></th>${cells}</tr>`;
  }).join('\n');
  return `<section><h2>四、告警类型与处置结果（合计）<small> / Alerts by type and outcome (total)</small></h2><table><thead><tr><th>类型<br><small>Type</small></th>${head}</tr></thead><tbody>\n${body}\n</tbody></table></section>`;
}

const pick = (prefix: string) => METRIC_COLUMNS.filter((c) => c.key.startsWith(prefix));

/** A printable page (A4 landscape): the bureau prints or saves it as PDF from the browser. */
export function monthlyHtml(report: MonthlyReport): string {
  const [year, month] = report.month.split('-');
  const title = `${report.jurisdiction.nameZh} ${year}年${Number(month)}月社区矫正监管月度统计报表`;
  const generated = chinaDateTime(new Date(report.generatedAt));
  const days = monthRange(report.month);
  // Alerts in two tables per jurisdiction (by type, by outcome) in the CSV's column order.
  const alertTypes = METRIC_COLUMNS.filter(
    (c) => c.key === 'alerts.total' || c.key.startsWith('alerts.byType.'),
  ).map((c) => ({ ...c, zh: c.zh.replace('告警·', ''), en: c.en.replace('Alerts: ', '') }));
  const alertOutcomes = METRIC_COLUMNS.filter(
    (c) =>
      c.key.startsWith('alerts.') &&
      c.key !== 'alerts.total' &&
      !c.key.startsWith('alerts.byType.'),
  );
  return `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; margin: 16px; color: #000; }
  h1 { font-size: 20px; text-align: center; margin: 0 0 4px; }
  .sub { text-align: center; font-size: 12px; margin: 0 0 12px; }
  h2 { font-size: 15px; margin: 16px 0 6px; }
  small { font-weight: normal; font-size: 10px; color: #333; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  th, td { border: 1px solid #000; padding: 3px 5px; text-align: center; }
  th[scope="row"] { text-align: left; }
  tr.total { font-weight: bold; background: #eee; }
  footer { margin-top: 16px; font-size: 11px; }
  @page { size: A4 landscape; margin: 12mm; }
  @media print {
    body { margin: 0; }
    thead { display: table-header-group; }
    tr, section { page-break-inside: avoid; }
    tr.total { background: none; }
  }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">Monthly community-correction supervision report · ${escapeHtml(report.jurisdiction.nameEn)} (${escapeHtml(report.jurisdiction.code)}) · ${escapeHtml(report.month)}<br>
统计期间 / Period: ${days.firstDay} – ${days.lastDay}（北京时间 / China time）· 生成时间 / Generated: <span data-k="generatedAt">${escapeHtml(generated)}</span></p>
${table('一、矫正对象（按管理等级与状态）<small> / Subjects by level and status</small>', pick('subjects.'), report)}
${table('二、告警类型（按辖区）<small> / Alerts by type and jurisdiction</small>', alertTypes, report)}
${table('三、告警处置结果（按辖区）<small> / Alert outcomes by jurisdiction</small>', alertOutcomes, report)}
${alertTypeTable(report)}
${table('五、信息化核查<small> / Check-in compliance</small>', pick('checkins.'), report)}
${table('六、电子定位决定<small> / Monitoring orders</small>', pick('orders.'), report)}
${table('七、考核奖惩<small> / Sanctions</small>', pick('sanctions.'), report)}
${table('八、外出审批<small> / Approved leave</small>', pick('leave.'), report)}
<footer>本表由社区矫正监管平台生成；对象数为统计月在册人数（管理等级与状态为生成时）。/ Generated by the CCM platform; subjects are those on the register in the month (level and status as of generation).</footer>
</body>
</html>
`;
}

export { escapeHtml };
