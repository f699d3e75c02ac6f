import { Card, Col, Descriptions, Empty, Input, List, Row, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import {
  useAlerts,
  useJurisdictions,
  useLatestPositions,
  useOrders,
  useSubject,
  useSubjects,
  useSubjectZones,
} from '../api/queries';
import type { Schedule, Subject } from '../api/types';
import { formatTime, LateTag, QueryState, SeverityTag } from '../components/common';
import { SubjectSupervision } from '../components/SubjectSupervision';
import { useCheckinStats, useSubjectCheckins } from '../api/supervision';
import { TrackPlayback } from '../components/TrackPlayback';
import { ago } from '../i18n';
import { STATUS_COLOURS, statusOf } from '../map/layers';

export function SubjectsPage() {
  const { t } = useTranslation();
  const subjects = useSubjects();
  const latest = useLatestPositions();
  const jurisdictions = useJurisdictions();
  const [q, setQ] = useState('');
  const positions = useMemo(
    () => new Map((latest.data ?? []).map((p) => [p.subjectId, p])),
    [latest.data],
  );
  const names = useMemo(
    () => new Map((jurisdictions.data ?? []).map((j) => [j.code, j])),
    [jurisdictions.data],
  );
  const { i18n } = useTranslation();
  const rows = (subjects.data ?? []).filter((s) => !q || s.name.includes(q) || s.idCardNo === q);
  return (
    <div className="ccm-page">
      <Card size="small" title={t('subjects.title')}>
        <Input.Search
          allowClear
          placeholder={t('subjects.search')}
          onChange={(e) => setQ(e.target.value.trim())}
          style={{ maxWidth: 320, marginBottom: 12 }}
        />
        <QueryState loading={subjects.isLoading} error={subjects.error} />
        <Table<Subject>
          size="small"
          rowKey="id"
          dataSource={rows}
          pagination={{ pageSize: 20 }}
          scroll={{ x: true }}
          columns={[
            {
              title: t('subjects.name'),
              dataIndex: 'name',
              render: (name: string, s) => {
                const p = positions.get(s.id);
                return (
                  <span>
                    <span
                      className="ccm-legend-dot"
                      style={{ background: p ? STATUS_COLOURS[statusOf(p)] : '#d9d9d9' }}
                      title={p ? t(`status.${statusOf(p)}`) : t('status.noOrder')}
                    />
                    <Link to={`/subjects/${s.id}`}>{name}</Link>
                  </span>
                );
              },
            },
            { title: t('subjects.idCard'), dataIndex: 'idCardNo' },
            {
              title: t('subjects.correctionType'),
              dataIndex: 'correctionType',
              render: (v: string) => t(`correctionType.${v}`),
            },
            {
              title: t('subjects.level'),
              dataIndex: 'managementLevel',
              render: (v: string) => t(`level.${v}`),
            },
            {
              title: t('subjects.status'),
              dataIndex: 'status',
              render: (v: string) => t(`subjectStatus.${v}`),
            },
            {
              title: t('subjects.jurisdiction'),
              dataIndex: 'jurisdictionCode',
              render: (v: string) => {
                const j = names.get(v);
                return j ? (i18n.language === 'en' ? j.nameEn || j.nameZh : j.nameZh) : v;
              },
            },
            {
              title: t('monitor.card.latestFix'),
              key: 'fix',
              render: (_: unknown, s) => (positions.get(s.id) ? ago(positions.get(s.id)!.t) : '—'),
            },
          ]}
        />
      </Card>
    </div>
  );
}

export function scheduleText(
  schedule: Schedule | null,
  t: (k: string, o?: Record<string, unknown>) => string,
) {
  if (!schedule) return t('schedule.always');
  return schedule.windows
    .map((w) =>
      t('schedule.window', {
        days: w.days.map((d) => t(`schedule.weekday.${d}`)).join(''),
        start: w.start,
        end: w.end,
      }),
    )
    .join('；');
}

export function SubjectPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const subject = useSubject(id);
  const orders = useOrders(id);
  const zones = useSubjectZones(id);
  const checkins = useSubjectCheckins(id);
  // The last 90 days by result: the same figures as the supervision tab's.
  const checkinStats = useCheckinStats(id);
  const alerts = useAlerts({ subjectId: id, sort: 'raisedAt', limit: 20 });
  const s = subject.data;
  if (!s)
    return (
      <div className="ccm-page">
        <QueryState loading={subject.isLoading} error={subject.error} />
      </div>
    );
  return (
    <div className="ccm-page">
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={10}>
          <Card
            size="small"
            title={`${s.name} · ${t('subjects.profile')}`}
            data-testid="subject-profile"
          >
            <Descriptions size="small" column={1}>
              <Descriptions.Item label={t('subjects.idCard')}>
                <span data-testid="id-card">{s.idCardNo}</span>
                {s.idCardMasked && <Tag style={{ marginLeft: 8 }}>{t('subjects.masked')}</Tag>}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.gender')}>
                {s.gender ? t(`subjects.${s.gender}`) : '—'}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.correctionType')}>
                {t(`correctionType.${s.correctionType}`)}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.term')}>
                {s.termStart} – {s.termEnd}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.level')}>
                {t(`level.${s.managementLevel}`)}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.status')}>
                {t(`subjectStatus.${s.status}`)}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.address')}>
                {s.homeAddress || '—'}
              </Descriptions.Item>
              <Descriptions.Item label={t('subjects.interval')}>
                {s.reportIntervalS} s
              </Descriptions.Item>
            </Descriptions>
          </Card>
          <Card size="small" title={t('subjects.orders')} style={{ marginTop: 16 }}>
            <QueryState loading={orders.isLoading} error={orders.error} />
            {orders.data?.length === 0 && (
              <Typography.Text type="secondary">{t('orders.none')}</Typography.Text>
            )}
            <List
              size="small"
              dataSource={orders.data ?? []}
              renderItem={(o) => (
                <List.Item data-testid="order">
                  <div>
                    <Tag color={o.status === 'active' ? 'green' : undefined}>
                      {t(`orders.status.${o.status}`)}
                    </Tag>
                    {o.status === 'active' && (
                      <Tag color={o.daysLeft <= 7 ? 'red' : 'blue'}>
                        {t('orders.daysLeft', { days: o.daysLeft })}
                      </Tag>
                    )}
                    <div>
                      {t(`orders.legalGround.${o.legalGround}`, { defaultValue: o.legalGround })}
                    </div>
                    <Typography.Text type="secondary">
                      {t('orders.decisionNo')} {o.decisionNo} · {t('orders.approver')}{' '}
                      {o.approverName} · {formatTime(o.startsAt)} – {formatTime(o.endsAt)} ·{' '}
                      {o.deviceId}
                      {o.extensions.length > 0
                        ? ` · ${t('orders.extensions', { count: o.extensions.length })}`
                        : ''}
                    </Typography.Text>
                  </div>
                </List.Item>
              )}
            />
          </Card>
          <Card size="small" title={t('subjects.zones')} style={{ marginTop: 16 }}>
            <List
              size="small"
              dataSource={zones.data ?? []}
              renderItem={(z) => (
                <List.Item>
                  <div>
                    <Tag color={z.zone.kind === 'exclusion' ? 'red' : 'blue'}>
                      {t(`zones.kinds.${z.zone.kind}`)}
                    </Tag>
                    {z.zone.name}
                    <div>
                      <Typography.Text type="secondary">
                        {scheduleText(z.scheduleOverride ?? z.zone.schedule, t)} ·{' '}
                        {t('zones.buffer')} {z.zone.bufferM}
                      </Typography.Text>
                    </div>
                  </div>
                </List.Item>
              )}
            />
          </Card>
          <Card size="small" title={t('subjects.checkins')} style={{ marginTop: 16 }}>
            <QueryState loading={checkins.isLoading} error={checkins.error} />
            {checkins.data && (
              <>
                {checkinStats.data && (
                  <Typography.Paragraph>
                    {t('checkins.summary', {
                      total: checkinStats.data.checkins.total,
                      match: checkinStats.data.checkins.match,
                      noMatch: checkinStats.data.checkins.noMatch,
                      spoof: checkinStats.data.checkins.spoofSuspected,
                    })}
                  </Typography.Paragraph>
                )}
                <List
                  size="small"
                  dataSource={checkins.data.items.slice(0, 20)}
                  renderItem={(c) => (
                    <List.Item>
                      {formatTime(c.t)} · {t(`checkins.method.${c.method}`)}
                      <Tag color={c.result === 'match' ? 'green' : 'red'}>
                        {t(`checkins.result.${c.result}`)}
                      </Tag>
                    </List.Item>
                  )}
                />
              </>
            )}
          </Card>
        </Col>
        <Col xs={24} xl={14}>
          <Card size="small" title={t('subjects.track')}>
            <TrackPlayback subjectId={id} />
          </Card>
          <Card size="small" title={t('subjects.recentAlerts')} style={{ marginTop: 16 }}>
            {alerts.data?.items.length === 0 && <Empty description={t('alerts.empty')} />}
            <List
              size="small"
              dataSource={alerts.data?.items ?? []}
              renderItem={(a) => (
                <List.Item>
                  <Link to={`/alerts/${a.id}`}>
                    <SeverityTag severity={a.severity} /> {t(`alertType.${a.type}`)}
                  </Link>
                  {a.late && <LateTag lateByMs={a.lateByMs} />}
                  <Tag>{t(`alertStatus.${a.status}`)}</Tag>
                  <Typography.Text type="secondary">{formatTime(a.raisedAt)}</Typography.Text>
                </List.Item>
              )}
            />
          </Card>
          <SubjectSupervision subjectId={id} />
        </Col>
      </Row>
    </div>
  );
}
