import { DownloadOutlined, PrinterOutlined } from '@ant-design/icons';
import {
  App,
  Button,
  Card,
  Col,
  DatePicker,
  Row,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import type { ColumnsType } from 'antd/es/table';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useJurisdictions } from '../api/queries';
import {
  openReportFile,
  useMonthlyReport,
  useOrderRegister,
  type OrderReportRow,
  type ReportMetrics,
} from '../api/supervision';
import { errorText, formatTime, MonthPicker, QueryState } from '../components/common';

type Section = keyof ReportMetrics;
type MetricRow = { key: string; name: string; metrics: ReportMetrics; total?: boolean };
const pct = (rate: number | null) => (rate === null ? '—' : `${Math.round(rate * 1000) / 10}%`);

/** The columns of each table of the monthly report, read out of the report's metrics. */
const SECTIONS: {
  key: Section;
  cols: { key: string; value: (m: ReportMetrics) => string | number }[];
}[] = [
  {
    key: 'subjects',
    cols: [
      { key: 'reports.col.total', value: (m) => m.subjects.total },
      { key: 'level.strict', value: (m) => m.subjects.byLevel.strict },
      { key: 'level.normal', value: (m) => m.subjects.byLevel.normal },
      { key: 'level.lenient', value: (m) => m.subjects.byLevel.lenient },
      { key: 'reports.col.active', value: (m) => m.subjects.byStatus.active },
      { key: 'reports.col.absconded', value: (m) => m.subjects.byStatus.absconded },
      { key: 'reports.col.suspended', value: (m) => m.subjects.byStatus.suspended },
      { key: 'reports.col.ended', value: (m) => m.subjects.byStatus.ended },
    ],
  },
  {
    key: 'alerts',
    cols: [
      { key: 'reports.col.total', value: (m) => m.alerts.total },
      { key: 'reports.col.open', value: (m) => m.alerts.open },
      { key: 'reports.col.acknowledged', value: (m) => m.alerts.acknowledged },
      { key: 'reports.col.resolved', value: (m) => m.alerts.resolved },
    ],
  },
  {
    key: 'checkins',
    cols: [
      { key: 'reports.col.met', value: (m) => m.checkins.met },
      { key: 'reports.col.missed', value: (m) => m.checkins.missed },
      { key: 'reports.col.pending', value: (m) => m.checkins.pending },
      { key: 'reports.col.cancelled', value: (m) => m.checkins.cancelled },
      { key: 'reports.col.rate', value: (m) => pct(m.checkins.rate) },
    ],
  },
  {
    key: 'orders',
    cols: [
      { key: 'reports.col.started', value: (m) => m.orders.started },
      { key: 'reports.col.extended', value: (m) => m.orders.extended },
      { key: 'reports.col.endedEarly', value: (m) => m.orders.ended },
      { key: 'reports.col.expired', value: (m) => m.orders.expired },
    ],
  },
  {
    key: 'sanctions',
    cols: [
      { key: 'reports.col.total', value: (m) => m.sanctions.total },
      { key: 'reports.col.admonition', value: (m) => m.sanctions.admonition },
      { key: 'reports.col.warning', value: (m) => m.sanctions.warning },
      { key: 'reports.col.revocation_request', value: (m) => m.sanctions.revocation_request },
    ],
  },
  {
    key: 'leave',
    cols: [
      { key: 'reports.col.approved', value: (m) => m.leave.approved },
      { key: 'reports.col.returned', value: (m) => m.leave.returned },
      { key: 'reports.col.notReturned', value: (m) => m.leave.notReturned },
    ],
  },
];

/** `level.*` lives in the main dictionary; everything else in supervision.*. */
const labelKey = (key: string) => (key.startsWith('level.') ? key : `supervision.${key}`);

function MonthlyReportView({ month, jurisdiction }: { month: string; jurisdiction?: string }) {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const report = useMonthlyReport(month, jurisdiction);
  const name = (r: { nameZh: string; nameEn: string }) =>
    i18n.language === 'en' ? r.nameEn || r.nameZh : r.nameZh;
  const file = (format: 'csv' | 'html') =>
    openReportFile(
      '/reports/monthly',
      { month, jurisdiction, format },
      format === 'csv' ? `ccm-monthly-${jurisdiction ?? 'own'}-${month}.csv` : undefined,
    ).catch((e: unknown) =>
      message.error(t('supervision.common.failed', { message: errorText(e) })),
    );
  const r = report.data;
  const rows: MetricRow[] = r
    ? [
        ...r.rows.map((x) => ({ key: x.code, name: name(x), metrics: x.metrics })),
        { key: 'total', name: t('supervision.reports.total'), metrics: r.total, total: true },
      ]
    : [];

  return (
    <Card
      size="small"
      title={
        r
          ? `${t('supervision.reports.monthly')} · ${name(r.jurisdiction)} · ${r.month}`
          : t('supervision.reports.monthly')
      }
      extra={
        <Space wrap>
          <Button
            size="small"
            icon={<DownloadOutlined />}
            onClick={() => void file('csv')}
            data-testid="report-csv"
          >
            {t('supervision.common.downloadCsv')}
          </Button>
          <Button
            size="small"
            icon={<PrinterOutlined />}
            onClick={() => void file('html')}
            data-testid="report-html"
          >
            {t('supervision.common.openHtml')}
          </Button>
        </Space>
      }
    >
      <QueryState loading={report.isLoading} error={report.error} />
      {r && (
        <>
          <Typography.Text type="secondary">
            {t('supervision.reports.generatedAt', { time: formatTime(r.generatedAt) })}
          </Typography.Text>
          <Row gutter={[16, 16]} style={{ marginTop: 8 }}>
            {SECTIONS.map((section) => (
              <Col xs={24} xxl={12} key={section.key}>
                <Typography.Title level={5}>
                  {t(`supervision.reports.sections.${section.key}`)}
                </Typography.Title>
                <Table<MetricRow>
                  size="small"
                  rowKey="key"
                  pagination={false}
                  scroll={{ x: true }}
                  dataSource={rows}
                  data-testid={`report-${section.key}`}
                  rowClassName={(row) => (row.total ? 'ccm-report-total' : '')}
                  columns={[
                    {
                      title: t('supervision.reports.jurisdiction'),
                      dataIndex: 'name',
                      render: (v: string, row) =>
                        row.total ? <Typography.Text strong>{v}</Typography.Text> : v,
                    },
                    ...section.cols.map((c) => ({
                      title: t(labelKey(c.key)),
                      key: c.key,
                      align: 'right' as const,
                      render: (_: unknown, row: MetricRow) =>
                        row.total ? (
                          <Typography.Text strong>{c.value(row.metrics)}</Typography.Text>
                        ) : (
                          c.value(row.metrics)
                        ),
                    })),
                  ]}
                />
              </Col>
            ))}
          </Row>
        </>
      )}
    </Card>
  );
}

function OrderRegister({ jurisdiction }: { jurisdiction?: string }) {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const [range, setRange] = useState<[string, string]>(() => [
    dayjs().startOf('month').format('YYYY-MM-DD'),
    dayjs().format('YYYY-MM-DD'),
  ]);
  const [from, to] = range;
  const register = useOrderRegister(from, to, jurisdiction);
  const en = i18n.language === 'en';
  const columns: ColumnsType<OrderReportRow> = [
    {
      title: t('supervision.reports.orders.subject'),
      dataIndex: 'subjectName',
      render: (v: string, o) => <Link to={`/subjects/${o.subjectId}`}>{v}</Link>,
    },
    { title: t('supervision.reports.orders.idCard'), dataIndex: 'idCardNo' },
    { title: t('supervision.common.jurisdiction'), dataIndex: 'jurisdictionName' },
    { title: t('supervision.reports.orders.device'), dataIndex: 'deviceId' },
    {
      title: t('supervision.reports.orders.ground'),
      key: 'ground',
      render: (_: unknown, o) => (en ? o.legalGroundLabel.en : o.legalGroundLabel.zh),
    },
    { title: t('supervision.reports.orders.decisionNo'), dataIndex: 'decisionNo' },
    { title: t('supervision.reports.orders.approver'), dataIndex: 'approverName' },
    {
      title: t('supervision.reports.orders.startsAt'),
      dataIndex: 'startsAt',
      render: (v: string) => formatTime(v),
    },
    {
      title: t('supervision.reports.orders.endsAt'),
      dataIndex: 'endsAt',
      render: (v: string) => formatTime(v),
    },
    {
      title: t('supervision.reports.orders.extensions'),
      key: 'ext',
      align: 'right',
      render: (_: unknown, o) => o.extensions.length,
    },
    {
      title: t('supervision.reports.orders.status'),
      key: 'status',
      render: (_: unknown, o) => (
        <Tag color={o.status === 'active' ? 'green' : undefined}>
          {en ? o.statusLabel.en : o.statusLabel.zh}
        </Tag>
      ),
    },
    {
      title: t('supervision.reports.orders.endedAt'),
      dataIndex: 'endedAt',
      render: (v: string | null) => formatTime(v),
    },
    { title: t('supervision.reports.orders.daysUsed'), dataIndex: 'daysUsed', align: 'right' },
  ];

  return (
    <Card
      size="small"
      title={t('supervision.reports.orders.title')}
      style={{ marginTop: 16 }}
      extra={
        <Space wrap>
          <DatePicker.RangePicker
            size="small"
            allowClear={false}
            value={[dayjs(from), dayjs(to)]}
            onChange={(v) =>
              v?.[0] && v[1] && setRange([v[0].format('YYYY-MM-DD'), v[1].format('YYYY-MM-DD')])
            }
            data-testid="orders-range"
          />
          <Button
            size="small"
            icon={<DownloadOutlined />}
            data-testid="orders-csv"
            onClick={() =>
              void openReportFile(
                '/reports/monitoring-orders',
                { from, to, jurisdiction, format: 'csv' },
                `ccm-monitoring-orders-${from}-${to}.csv`,
              ).catch((e: unknown) =>
                message.error(t('supervision.common.failed', { message: errorText(e) })),
              )
            }
          >
            {t('supervision.common.downloadCsv')}
          </Button>
        </Space>
      }
    >
      <QueryState error={register.error} />
      {register.data?.idCardMasked && (
        <Tag style={{ marginBottom: 8 }}>{t('supervision.reports.orders.masked')}</Tag>
      )}
      <Table<OrderReportRow>
        size="small"
        rowKey="orderId"
        loading={register.isLoading}
        dataSource={register.data?.items ?? []}
        pagination={{ pageSize: 20 }}
        scroll={{ x: true }}
        columns={columns}
        data-testid="orders-register"
      />
    </Card>
  );
}

export function ReportsPage() {
  const { t, i18n } = useTranslation();
  const jurisdictions = useJurisdictions();
  const [month, setMonth] = useState(() => dayjs().format('YYYY-MM'));
  const [jurisdiction, setJurisdiction] = useState<string | undefined>(undefined);
  return (
    <div className="ccm-page">
      <Card size="small" title={t('supervision.reports.title')} style={{ marginBottom: 16 }}>
        <Space wrap>
          <Typography.Text>{t('supervision.reports.month')}</Typography.Text>
          <MonthPicker month={month} onChange={setMonth} data-testid="report-month" />
          <Typography.Text>{t('supervision.common.jurisdiction')}</Typography.Text>
          <Select<string>
            allowClear
            showSearch
            optionFilterProp="label"
            placeholder={t('supervision.common.ownJurisdiction')}
            value={jurisdiction ?? null}
            onChange={(v) => setJurisdiction(v ?? undefined)}
            style={{ width: 240 }}
            loading={jurisdictions.isLoading}
            data-testid="report-jurisdiction"
            options={(jurisdictions.data ?? []).map((j) => ({
              value: j.code,
              label: i18n.language === 'en' ? j.nameEn || j.nameZh : j.nameZh,
            }))}
          />
        </Space>
      </Card>
      <MonthlyReportView month={month} {...(jurisdiction ? { jurisdiction } : {})} />
      <OrderRegister {...(jurisdiction ? { jurisdiction } : {})} />
    </div>
  );
}
