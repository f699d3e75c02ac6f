import { Badge, Button, Card, Descriptions, Empty, Input, List, Space, Typography } from 'antd';
import { useQueries } from '@tanstack/react-query';
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { listAll } from '../api/client';
import { keys, useAlerts, useLatestPositions, useSubjects, useZones } from '../api/queries';
import type { LatestPosition, SubjectZone, Zone } from '../api/types';
import { formatTime, QueryState, SeverityTag } from '../components/common';
import { ago } from '../i18n';
import { MapView } from '../map/MapView';
import { FitBounds, STATUS_COLOURS, statusOf, SubjectsLayer, ZonesLayer } from '../map/layers';
import { boundsOf } from '../map/zones';
import type { LonLat } from '../map/coords';

/** Up to this many subjects on the map, their assigned zones (county, curfew) are drawn too. */
const SUBJECT_ZONES_UP_TO = 60;

export function MonitorPage() {
  const { t } = useTranslation();
  const latest = useLatestPositions();
  const zones = useZones();
  const subjects = useSubjects();
  const [selected, setSelected] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const positions = useMemo(() => latest.data ?? [], [latest.data]);
  const names = useMemo(
    () => new Map((subjects.data ?? []).map((s) => [s.id, s.name])),
    [subjects.data],
  );
  const withNames = useMemo(
    () =>
      positions.map((p) => ({ ...p, subjectName: p.subjectName || names.get(p.subjectId) || '' })),
    [positions, names],
  );
  const activeSubjects = (subjects.data ?? []).filter((s) => s.status !== 'ended').length;
  const noOrder = Math.max(0, activeSubjects - positions.length);
  const onSelect = useCallback((id: string) => setSelected(id), []);
  const shown = withNames
    .filter((p) => !filter || p.subjectName.includes(filter))
    .sort((a, b) => b.openAlerts - a.openAlerts || a.subjectName.localeCompare(b.subjectName));
  const current = withNames.find((p) => p.subjectId === selected) ?? null;

  // An office sees zones of its own node; the county zones its subjects must stay in belong
  // to the county, so they come with each subject's zone assignments.
  const subjectZones = useQueries({
    queries: positions.slice(0, SUBJECT_ZONES_UP_TO).map((p) => ({
      queryKey: keys.subjectZones(p.subjectId),
      queryFn: () => listAll<SubjectZone>(`/subjects/${p.subjectId}/zones`),
      staleTime: 5 * 60_000,
    })),
  });
  const subjectZoneData = subjectZones.map((q) => q.data);
  const allZones = useMemo(() => {
    const byId = new Map<string, Zone>((zones.data ?? []).map((z) => [z.id, z]));
    for (const list of subjectZoneData) for (const sz of list ?? []) byId.set(sz.zone.id, sz.zone);
    return [...byId.values()];
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the list of results, element-wise
  }, [zones.data, ...subjectZoneData]);
  // First view: every subject in scope (then the officer moves the map as they like).
  const [firstBounds, setFirstBounds] = useState<[LonLat, LonLat] | null>(null);
  if (!firstBounds && positions.length > 0) {
    const b = boundsOf(positions.map((p) => [p.lon, p.lat] as LonLat));
    if (b) setFirstBounds(b);
  }

  return (
    <div className="ccm-map-page">
      <MapView testId="monitor-map">
        <ZonesLayer zones={allZones} />
        <FitBounds bounds={firstBounds} maxZoom={13} />
        <SubjectsLayer positions={positions} selected={selected} onSelect={onSelect} />
      </MapView>
      <div className="ccm-side">
        <QueryState loading={latest.isLoading} error={latest.error} />
        <Space wrap size="small" style={{ marginBottom: 8 }}>
          {(['normal', 'alert', 'offline'] as const).map((s) => (
            <span key={s}>
              <span className="ccm-legend-dot" style={{ background: STATUS_COLOURS[s] }} />
              {t(`status.${s}`)}
            </span>
          ))}
        </Space>
        <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
          {t('monitor.subjectsShown', { count: positions.length })}
          {subjects.data ? ` · ${t('monitor.noOrderCount', { count: noOrder })}` : ''}
        </Typography.Paragraph>
        {current && <SubjectCard position={current} onClose={() => setSelected(null)} />}
        <Input.Search
          allowClear
          placeholder={t('monitor.search')}
          onChange={(e) => setFilter(e.target.value)}
          style={{ margin: '8px 0' }}
        />
        {latest.data && positions.length === 0 ? (
          <Empty description={t('monitor.noPositions')} />
        ) : (
          <List
            size="small"
            data-testid="subject-list"
            dataSource={shown}
            renderItem={(p) => (
              <List.Item
                onClick={() => setSelected(p.subjectId)}
                style={{
                  cursor: 'pointer',
                  background: p.subjectId === selected ? '#eff6ff' : undefined,
                }}
                data-testid="subject-row"
                data-subject-id={p.subjectId}
              >
                <Space>
                  <span
                    className="ccm-legend-dot"
                    style={{ background: STATUS_COLOURS[statusOf(p)] }}
                  />
                  <span>{p.subjectName}</span>
                  {p.openAlerts > 0 && <Badge count={p.openAlerts} />}
                </Space>
                <Typography.Text type="secondary">{ago(p.t)}</Typography.Text>
              </List.Item>
            )}
          />
        )}
      </div>
    </div>
  );
}

function SubjectCard({ position: p, onClose }: { position: LatestPosition; onClose: () => void }) {
  const { t } = useTranslation();
  const alerts = useAlerts({ subjectId: p.subjectId });
  const open = (alerts.data?.items ?? []).filter((a) => a.status !== 'resolved');
  return (
    <Card
      size="small"
      title={p.subjectName}
      extra={
        <Button size="small" type="text" onClick={onClose}>
          {t('app.close')}
        </Button>
      }
      data-testid="subject-card"
      data-subject-id={p.subjectId}
    >
      <Descriptions size="small" column={1}>
        <Descriptions.Item label={t('monitor.card.fixTime')}>
          <span data-testid="card-fix-time">{formatTime(p.t)}</span> ({ago(p.t)})
        </Descriptions.Item>
        <Descriptions.Item label={t('monitor.card.position')}>
          <span data-testid="card-position">
            {p.lat.toFixed(5)}, {p.lon.toFixed(5)}
          </span>
        </Descriptions.Item>
        <Descriptions.Item label={t('monitor.card.accuracy')}>
          {p.accuracyM != null ? `${Math.round(p.accuracyM)} m` : '—'}
          {p.source ? ` · ${t(`source.${p.source}`)}` : ''}
        </Descriptions.Item>
        <Descriptions.Item label={t('monitor.card.battery')}>
          {p.battery != null ? `${p.battery}%` : '—'}
        </Descriptions.Item>
        <Descriptions.Item label={t('monitor.card.online')}>
          {p.online ? t('devices.online') : t('devices.offline')} · {p.deviceId}
        </Descriptions.Item>
      </Descriptions>
      <Typography.Text strong>{t('monitor.card.openAlerts')}</Typography.Text>
      {open.length === 0 ? (
        <div>
          <Typography.Text type="secondary">{t('monitor.card.noOpenAlerts')}</Typography.Text>
        </div>
      ) : (
        <List
          size="small"
          dataSource={open}
          renderItem={(a) => (
            <List.Item>
              <Link to={`/alerts/${a.id}`}>
                <SeverityTag severity={a.severity} /> {t(`alertType.${a.type}`)}
              </Link>
              <Typography.Text type="secondary">{ago(a.raisedAt)}</Typography.Text>
            </List.Item>
          )}
        />
      )}
      <Link to={`/subjects/${p.subjectId}`}>{t('monitor.card.details')}</Link>
    </Card>
  );
}
