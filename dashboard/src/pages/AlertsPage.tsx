import {
  Alert as AntAlert,
  Button,
  Card,
  Col,
  Descriptions,
  Empty,
  Form,
  Input,
  List,
  Row,
  Select,
  Space,
  Switch,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { canWrite, useUser } from '../api/auth';
import {
  useAlert,
  useAlertAction,
  useAlerts,
  useAssignableUsers,
  useSubjects,
  useZones,
} from '../api/queries';
import {
  ALERT_TYPES,
  RESOLUTIONS,
  SEVERITIES,
  type Alert,
  type AlertDetail,
  type EvidenceFix,
  type Resolution,
} from '../api/types';
import { formatTime, LateTag, QueryState, SeverityTag } from '../components/common';
import { ago } from '../i18n';
import { useLive } from '../live/LiveProvider';
import { MapView } from '../map/MapView';
import { FitBounds, FixesLayer, ZonesLayer } from '../map/layers';
import { boundsOf } from '../map/zones';
import type { LonLat } from '../map/coords';

interface Filters {
  status: 'open' | 'acknowledged' | 'resolved' | '';
  type?: string;
  severity?: string;
  late: boolean;
  sort: 'severity' | 'raisedAt';
}

export function AlertsPage() {
  const { t } = useTranslation();
  const { id } = useParams();
  const navigate = useNavigate();
  const { arrived } = useLive();
  const [filters, setFilters] = useState<Filters>({
    status: 'open',
    late: false,
    sort: 'severity',
  });
  const query = {
    status: filters.status || undefined,
    type: filters.type,
    severity: filters.severity,
    late: filters.late ? 'true' : undefined,
    sort: filters.sort,
  };
  const alerts = useAlerts(query);
  const subjects = useSubjects();
  const names = useMemo(
    () => new Map((subjects.data ?? []).map((s) => [s.id, s.name])),
    [subjects.data],
  );

  return (
    <div className="ccm-page">
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={id ? 10 : 24}>
          <Card
            size="small"
            title={t('alerts.title')}
            extra={
              <Button size="small" onClick={() => void alerts.refetch()}>
                {t('app.refresh')}
              </Button>
            }
          >
            <Space wrap style={{ marginBottom: 12 }}>
              <Select
                style={{ width: 130 }}
                value={filters.status}
                onChange={(status) => setFilters({ ...filters, status })}
                options={[
                  { value: 'open', label: t('alertStatus.open') },
                  { value: 'acknowledged', label: t('alertStatus.acknowledged') },
                  { value: 'resolved', label: t('alertStatus.resolved') },
                  { value: '', label: t('alerts.allStatuses') },
                ]}
                data-testid="filter-status"
              />
              <Select
                allowClear
                style={{ width: 190 }}
                placeholder={t('alerts.type')}
                value={filters.type}
                onChange={(type) => setFilters({ ...filters, type })}
                options={ALERT_TYPES.map((a) => ({ value: a, label: t(`alertType.${a}`) }))}
              />
              <Select
                allowClear
                style={{ width: 110 }}
                placeholder={t('alerts.severity')}
                value={filters.severity}
                onChange={(severity) => setFilters({ ...filters, severity })}
                options={SEVERITIES.map((s) => ({ value: s, label: t(`severity.${s}`) }))}
              />
              <Select
                style={{ width: 170 }}
                value={filters.sort}
                onChange={(sort) => setFilters({ ...filters, sort })}
                options={[
                  { value: 'severity', label: t('alerts.sortSeverity') },
                  { value: 'raisedAt', label: t('alerts.sortRaised') },
                ]}
              />
              <Space size={4}>
                <Switch
                  size="small"
                  checked={filters.late}
                  onChange={(late) => setFilters({ ...filters, late })}
                />
                {t('alerts.onlyLate')}
              </Space>
            </Space>
            <QueryState loading={alerts.isLoading} error={alerts.error} />
            {alerts.data && alerts.data.items.length === 0 && (
              <Empty description={t('alerts.empty')} />
            )}
            {alerts.data && alerts.data.items.length > 0 && (
              <List
                size="small"
                dataSource={alerts.data.items}
                data-testid="alert-list"
                renderItem={(a) => (
                  <List.Item
                    key={a.id}
                    className={arrived.has(a.id) ? 'ccm-alert-new' : undefined}
                    style={{ cursor: 'pointer', background: a.id === id ? '#eff6ff' : undefined }}
                    onClick={() => navigate(`/alerts/${a.id}`)}
                    data-testid="alert-row"
                    data-alert-id={a.id}
                    data-alert-type={a.type}
                  >
                    <Space wrap size={4}>
                      <SeverityTag severity={a.severity} />
                      <Typography.Text strong>{t(`alertType.${a.type}`)}</Typography.Text>
                      <Typography.Text>
                        {(a.subjectId && names.get(a.subjectId)) ?? a.deviceId}
                      </Typography.Text>
                      {a.late && <LateTag lateByMs={a.lateByMs} />}
                      {arrived.has(a.id) && <Tag color="red">{t('alerts.new')}</Tag>}
                      {a.status !== 'open' && <Tag>{t(`alertStatus.${a.status}`)}</Tag>}
                    </Space>
                    <Typography.Text type="secondary">{ago(a.raisedAt)}</Typography.Text>
                  </List.Item>
                )}
              />
            )}
          </Card>
        </Col>
        {id && (
          <Col xs={24} xl={14}>
            <AlertDetailView id={id} subjectName={(sid) => names.get(sid)} />
          </Col>
        )}
      </Row>
    </div>
  );
}

function AlertDetailView({
  id,
  subjectName,
}: {
  id: string;
  subjectName: (id: string) => string | undefined;
}) {
  const { t } = useTranslation();
  const user = useUser();
  const alert = useAlert(id);
  const action = useAlertAction();
  const writer = canWrite(user);
  const users = useAssignableUsers(writer && user.role !== 'officer');
  const [note, setNote] = useState('');
  const [resolveNote, setResolveNote] = useState('');
  const [resolution, setResolution] = useState<Resolution>('confirmed_violation');
  const a = alert.data;
  if (!a) return <QueryState loading={alert.isLoading} error={alert.error} />;

  const run = (
    act: 'acknowledge' | 'assign' | 'notes' | 'resolve',
    body?: Record<string, string>,
  ) => action.mutateAsync({ id: a.id, action: act, body }).then(() => alert.refetch());

  return (
    <Card
      size="small"
      title={
        <Space wrap>
          <SeverityTag severity={a.severity} />
          {t(`alertType.${a.type}`)}
          <Tag data-testid="alert-status">{t(`alertStatus.${a.status}`)}</Tag>
          {a.late && <LateTag lateByMs={a.lateByMs} />}
        </Space>
      }
      data-testid="alert-detail"
      data-alert-id={a.id}
    >
      <Descriptions size="small" column={{ xs: 1, md: 2 }}>
        <Descriptions.Item label={t('alerts.subject')}>
          {a.subjectId ? (
            <Link to={`/subjects/${a.subjectId}`}>{subjectName(a.subjectId) ?? a.subjectId}</Link>
          ) : (
            '—'
          )}
        </Descriptions.Item>
        <Descriptions.Item label={t('devices.id')}>{a.deviceId ?? '—'}</Descriptions.Item>
        <Descriptions.Item label={t('alerts.startedAt')}>
          {formatTime(a.startedAt)}
        </Descriptions.Item>
        <Descriptions.Item label={t('alerts.raisedAt')}>{formatTime(a.raisedAt)}</Descriptions.Item>
        <Descriptions.Item label={t('alerts.endedAt')}>{formatTime(a.endedAt)}</Descriptions.Item>
        <Descriptions.Item label={t('alerts.assigned')}>
          {a.assignedTo
            ? (users.data?.find((u) => u.id === a.assignedTo)?.displayName ?? a.assignedTo)
            : '—'}
        </Descriptions.Item>
        {a.escalatedAt && (
          <Descriptions.Item label={t('alerts.escalated')}>
            {formatTime(a.escalatedAt)}
          </Descriptions.Item>
        )}
        {a.resolution && (
          <Descriptions.Item label={t('alerts.resolution')}>
            {t(`resolution.${a.resolution}`)}
          </Descriptions.Item>
        )}
      </Descriptions>

      {action.error && (
        <AntAlert
          type="error"
          showIcon
          title={(action.error as Error).message}
          style={{ marginBottom: 8 }}
        />
      )}
      {!writer && <AntAlert type="info" title={t('alerts.readOnly')} style={{ marginBottom: 8 }} />}
      {writer && a.status !== 'resolved' && (
        <Space
          direction="vertical"
          style={{ width: '100%', marginBottom: 12 }}
          className="ccm-no-print"
        >
          <Space wrap>
            {a.status === 'open' && (
              <Button
                type="primary"
                loading={action.isPending}
                onClick={() => void run('acknowledge')}
                data-testid="ack"
              >
                {t('alerts.acknowledge')}
              </Button>
            )}
            {users.data && (
              <Select
                style={{ width: 220 }}
                placeholder={t('alerts.assignTo')}
                value={a.assignedTo ?? undefined}
                onChange={(userId: string) => void run('assign', { userId })}
                options={users.data.map((u) => ({
                  value: u.id,
                  label: `${u.displayName}（${t(`role.${u.role}`)}）`,
                }))}
              />
            )}
            {user.role === 'officer' && a.assignedTo !== user.id && (
              <Button onClick={() => void run('assign', { userId: user.id })}>
                {t('alerts.assign')} → {user.displayName}
              </Button>
            )}
          </Space>
          <Space.Compact style={{ width: '100%' }}>
            <Input
              value={note}
              onChange={(e) => setNote(e.target.value)}
              placeholder={t('alerts.note')}
              data-testid="note-input"
            />
            <Button
              disabled={!note.trim()}
              onClick={() => void run('notes', { text: note.trim() }).then(() => setNote(''))}
              data-testid="note-add"
            >
              {t('alerts.addNote')}
            </Button>
          </Space.Compact>
          <Form layout="inline" style={{ rowGap: 8 }}>
            <Form.Item label={t('alerts.resolution')}>
              <Select
                style={{ width: 160 }}
                value={resolution}
                onChange={setResolution}
                options={RESOLUTIONS.map((r) => ({ value: r, label: t(`resolution.${r}`) }))}
                data-testid="resolution"
              />
            </Form.Item>
            <Form.Item style={{ flex: 1, minWidth: 200 }}>
              <Input
                value={resolveNote}
                onChange={(e) => setResolveNote(e.target.value)}
                placeholder={t('alerts.resolveNote')}
                data-testid="resolve-note"
              />
            </Form.Item>
            <Button
              danger
              disabled={!resolveNote.trim()}
              onClick={() => void run('resolve', { note: resolveNote.trim(), resolution })}
              data-testid="resolve"
            >
              {t('alerts.resolve')}
            </Button>
          </Form>
        </Space>
      )}

      <Row gutter={16}>
        <Col xs={24} md={14}>
          <Typography.Title level={5}>{t('alerts.evidence')}</Typography.Title>
          <Evidence alert={a} />
        </Col>
        <Col xs={24} md={10}>
          <Typography.Title level={5}>{t('alerts.history')}</Typography.Title>
          <Timeline
            data-testid="alert-history"
            items={a.history.map((h) => ({
              key: h.id,
              children: (
                <div>
                  <Typography.Text strong>
                    {t(`alerts.actions.${h.action}`, { defaultValue: h.action })}
                  </Typography.Text>{' '}
                  <Typography.Text type="secondary">
                    {formatTime(h.at)}
                    {h.actorName ? ` · ${h.actorName}` : ''}
                  </Typography.Text>
                  {h.note && <div>{h.note}</div>}
                </div>
              ),
            }))}
          />
        </Col>
      </Row>
    </Card>
  );
}

/** The fixes that confirmed the alert, with their accuracy circles, and the zone. */
function Evidence({ alert: a }: { alert: AlertDetail | Alert }) {
  const { t } = useTranslation();
  const zones = useZones();
  const zone = zones.data?.find((z) => z.id === a.zoneId);
  const ev = a.evidence;
  let fixes: EvidenceFix[] = [];
  let caption = t('alerts.evidenceNone');
  if (ev?.kind === 'fixes' && 'fixes' in ev) {
    const e = ev as Extract<typeof ev, { kind: 'fixes'; fixes: EvidenceFix[] }>;
    fixes = e.fixes;
    caption = t('alerts.evidenceFixes', {
      count: e.count,
      needed: e.confirmFixes,
      seconds: e.confirmSeconds,
      buffer: e.bufferM,
    });
  } else if (ev?.kind === 'segment' && 'from' in ev) {
    const e = ev as Extract<typeof ev, { kind: 'segment'; from: EvidenceFix }>;
    fixes = [e.from, e.to];
    caption = t('alerts.evidenceSegment', { depth: Math.round(e.depthM) });
  } else if (ev?.kind === 'event' && 'eventType' in ev) {
    caption = t('alerts.evidenceEvent', { event: String(ev.eventType) });
  }
  const points = fixes.map((f) => ({
    lat: f.lat,
    lon: f.lon,
    accuracyM: f.accuracyM,
    source: f.source,
    lowAccuracy: false,
  }));
  if (points.length === 0 && a.lat != null && a.lon != null) {
    points.push({ lat: a.lat, lon: a.lon, accuracyM: 0, source: 'gnss', lowAccuracy: false });
  }
  const bounds = boundsOf([
    ...points.map((p) => [p.lon, p.lat] as LonLat),
    ...(zone && zone.purpose !== 'county'
      ? [[zone.bbox[0], zone.bbox[1]] as LonLat, [zone.bbox[2], zone.bbox[3]] as LonLat]
      : []),
  ]);
  return (
    <div>
      <Typography.Paragraph type="secondary" data-testid="evidence-caption">
        {caption}
        {zone ? ` · ${t('alerts.zone')}: ${zone.name}` : ''}
      </Typography.Paragraph>
      {fixes.length > 0 && (
        <List
          size="small"
          dataSource={fixes}
          renderItem={(f) => (
            <List.Item>
              {formatTime(new Date(f.fixTimeMs).toISOString())} · {t(`source.${f.source}`)} · ±
              {Math.round(f.accuracyM)} m
              {f.distanceM != null
                ? ` · ${t('alerts.edgeDistance', { distance: Math.round(f.distanceM) })}`
                : ''}
            </List.Item>
          )}
        />
      )}
      {points.length > 0 && (
        <MapView style={{ height: 320 }} testId="evidence-map">
          {zone && <ZonesLayer zones={[zone]} id="evidence-zone" />}
          <FixesLayer id="evidence" points={points} line={false} />
          <FitBounds bounds={bounds} maxZoom={16} />
        </MapView>
      )}
    </div>
  );
}
