import {
  Button,
  Card,
  Col,
  DatePicker,
  Empty,
  Row,
  Space,
  Statistic,
  Table,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useStatistics } from '../api/queries';
import { Chart } from '../components/Chart';
import { QueryState } from '../components/common';
import { duration } from '../i18n';

const SEVERITY_COLOURS: Record<string, string> = {
  critical: '#c2255c',
  high: '#e5484d',
  medium: '#f59f00',
  low: '#1d4ed8',
};

export function StatisticsPage() {
  const { t, i18n } = useTranslation();
  const [range, setRange] = useState<[Dayjs, Dayjs]>(() => [
    dayjs().subtract(29, 'day').startOf('day'),
    dayjs().endOf('day'),
  ]);
  const from = range[0].startOf('day').toISOString();
  const to = range[1].endOf('day').add(1, 'millisecond').toISOString();
  const stats = useStatistics(from, to);
  const s = stats.data;
  const seconds = (v: number | null | undefined) => (v == null ? '—' : duration(v * 1000));

  const options = useMemo(() => {
    if (!s) return null;
    const types = [...new Set(s.byType.map((x) => x.type))];
    return {
      byType: {
        tooltip: { trigger: 'axis' },
        grid: { left: 150, right: 20, top: 10, bottom: 30 },
        xAxis: { type: 'value', minInterval: 1 },
        yAxis: { type: 'category', data: types.map((ty) => t(`alertType.${ty}`)), inverse: true },
        series: [
          {
            type: 'bar',
            data: types.map((ty) => {
              const rows = s.byType.filter((x) => x.type === ty);
              return {
                value: rows.reduce((n, r) => n + r.count, 0),
                itemStyle: { color: SEVERITY_COLOURS[rows[0]?.severity ?? 'low'] },
              };
            }),
          },
        ],
      },
      byDay: {
        tooltip: { trigger: 'axis' },
        grid: { left: 40, right: 20, top: 10, bottom: 30 },
        xAxis: { type: 'category', data: s.byDay.map((d) => d.day.slice(5)) },
        yAxis: { type: 'value', minInterval: 1 },
        series: [
          {
            type: 'bar',
            name: t('statistics.count'),
            data: s.byDay.map((d) => d.count),
            itemStyle: { color: '#1d4ed8' },
          },
        ],
      },
      byJurisdiction: {
        tooltip: { trigger: 'axis' },
        grid: { left: 120, right: 20, top: 10, bottom: 30 },
        xAxis: { type: 'value', minInterval: 1 },
        yAxis: {
          type: 'category',
          inverse: true,
          data: s.byJurisdiction.map((j) =>
            i18n.language === 'en' ? j.nameEn || j.nameZh : j.nameZh,
          ),
        },
        series: [
          {
            type: 'bar',
            data: s.byJurisdiction.map((j) => j.count),
            itemStyle: { color: '#0c8599' },
          },
        ],
      },
      resolutions: {
        tooltip: { trigger: 'item' },
        legend: { bottom: 0 },
        series: [
          {
            type: 'pie',
            radius: ['40%', '70%'],
            data: s.resolutions.map((r) => ({
              name: t(`resolution.${r.resolution}`),
              value: r.count,
            })),
          },
        ],
      },
      levels: {
        tooltip: { trigger: 'item' },
        legend: { bottom: 0 },
        series: [
          {
            type: 'pie',
            radius: '65%',
            data: s.subjectsByLevel.map((l) => ({ name: t(`level.${l.level}`), value: l.count })),
            color: ['#e5484d', '#1d4ed8', '#2f9e44'],
          },
        ],
      },
    };
  }, [s, t, i18n.language]);

  return (
    <div className="ccm-page" data-testid="statistics">
      <Space wrap style={{ marginBottom: 16 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('statistics.title')}
        </Typography.Title>
        <DatePicker.RangePicker
          value={range}
          onChange={(v) => v?.[0] && v[1] && setRange([v[0], v[1]])}
          allowClear={false}
        />
        <Button className="ccm-no-print" onClick={() => window.print()}>
          {t('statistics.print')}
        </Button>
      </Space>
      <QueryState loading={stats.isLoading} error={stats.error} />
      {s && options && (
        <Row gutter={[16, 16]}>
          <Col xs={12} md={6}>
            <Card size="small">
              <Statistic title={t('statistics.total')} value={s.total} />
            </Card>
          </Col>
          <Col xs={12} md={6}>
            <Card size="small">
              <Statistic
                title={t('statistics.falseAlarm')}
                value={s.falseAlarmShare == null ? '—' : `${(s.falseAlarmShare * 100).toFixed(1)}%`}
              />
              <Typography.Text type="secondary">
                {t('statistics.falseAlarmDetail', { resolved: s.resolved, false: s.falseAlarms })}
              </Typography.Text>
            </Card>
          </Col>
          <Col xs={12} md={6}>
            <Card size="small">
              <Statistic
                title={`${t('statistics.ack')} · ${t('statistics.ackMedian')}`}
                value={seconds(s.timeToAcknowledge.medianS)}
              />
              <Typography.Text type="secondary">
                {t('statistics.ackP90')} {seconds(s.timeToAcknowledge.p90S)} ·{' '}
                {t('statistics.ackOpen', { count: s.timeToAcknowledge.openUnacknowledged })}
              </Typography.Text>
            </Card>
          </Col>
          <Col xs={12} md={6}>
            <Card size="small">
              <Statistic
                title={`${t('statistics.ack')} · ${t('statistics.ackMean')}`}
                value={seconds(s.timeToAcknowledge.meanS)}
              />
            </Card>
          </Col>
          {s.total === 0 && (
            <Col span={24}>
              <Empty description={t('statistics.noData')} />
            </Col>
          )}
          <Col xs={24} lg={12}>
            <Card size="small" title={t('statistics.byDay')}>
              <Chart option={options.byDay} testId="chart-by-day" />
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card size="small" title={t('statistics.byType')}>
              <Chart option={options.byType} testId="chart-by-type" />
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card size="small" title={t('statistics.byJurisdiction')}>
              <Chart option={options.byJurisdiction} />
            </Card>
          </Col>
          <Col xs={24} lg={6}>
            <Card size="small" title={t('statistics.resolutions')}>
              <Chart option={options.resolutions} />
            </Card>
          </Col>
          <Col xs={24} lg={6}>
            <Card size="small" title={t('statistics.levels')}>
              <Chart option={options.levels} />
            </Card>
          </Col>
          <Col span={24}>
            <Card size="small" title={`${t('statistics.ack')} · ${t('statistics.bySeverity')}`}>
              <Table
                size="small"
                rowKey="severity"
                pagination={false}
                dataSource={s.timeToAcknowledge.bySeverity}
                columns={[
                  {
                    title: t('alerts.severity'),
                    dataIndex: 'severity',
                    render: (v: string) => t(`severity.${v}`),
                  },
                  { title: t('statistics.count'), dataIndex: 'count' },
                  { title: t('statistics.ackMedian'), dataIndex: 'medianS', render: seconds },
                  { title: t('statistics.ackMean'), dataIndex: 'meanS', render: seconds },
                  { title: t('statistics.ackP90'), dataIndex: 'p90S', render: seconds },
                ]}
              />
            </Card>
          </Col>
        </Row>
      )}
    </div>
  );
}
