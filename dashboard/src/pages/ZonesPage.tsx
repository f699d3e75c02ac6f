import {
  Alert as AntAlert,
  App,
  Button,
  Card,
  Checkbox,
  Form,
  Input,
  InputNumber,
  List,
  Popconfirm,
  Radio,
  Select,
  Space,
  Tag,
  TimePicker,
  Typography,
} from 'antd';
import dayjs from 'dayjs';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { canWrite, useUser } from '../api/auth';
import { ApiError } from '../api/client';
import {
  useDeleteZone,
  useDryRun,
  useJurisdictions,
  useSaveZone,
  useSubjects,
  useZones,
} from '../api/queries';
import {
  ZONE_PURPOSES,
  type DryRunResult,
  type ScheduleWindow,
  type Zone,
  type ZoneGeometry,
  type ZoneInput,
  type ZoneKind,
  type ZonePurpose,
} from '../api/types';
import { formatTime, QueryState } from '../components/common';
import { crsOf } from '../map/config';
import { MapView } from '../map/MapView';
import { FitBounds, FixesLayer, ZonesLayer } from '../map/layers';
import { useMapConfig } from '../map/useMapConfig';
import { ZoneDrawing, type DrawMode } from '../map/ZoneDrawing';
import { shapeProblem, type ShapeProblem } from '../map/zones';
import { scheduleText } from './SubjectsPage';

interface Draft {
  id?: string;
  version?: number;
  name: string;
  kind: ZoneKind;
  purpose: ZonePurpose;
  bufferM: number;
  scheduled: boolean;
  windows: ScheduleWindow[];
  jurisdictionCode?: string;
  subjectId?: string;
}

const NEW_DRAFT: Draft = {
  name: '',
  kind: 'exclusion',
  purpose: 'prohibited',
  bufferM: 20,
  scheduled: false,
  windows: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '22:00', end: '06:00' }],
};

export function problemText(
  p: ShapeProblem,
  t: (k: string, o?: Record<string, unknown>) => string,
) {
  switch (p.code) {
    case 'self_intersecting':
      return t('zones.problem.self_intersecting', {
        lon: p.at[0].toFixed(5),
        lat: p.at[1].toFixed(5),
      });
    case 'too_small':
      return t('zones.problem.too_small', { area: Math.round(p.areaM2) });
    case 'too_large':
      return t('zones.problem.too_large', { area: Math.round(p.areaM2 / 1e6) });
    case 'radius_out_of_range':
      return t('zones.problem.radius_out_of_range', { radius: Math.round(p.radiusM) });
    default:
      return t(`zones.problem.${p.code}`);
  }
}

export function ZonesPage() {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const user = useUser();
  const writer = canWrite(user);
  const zones = useZones();
  const subjects = useSubjects();
  const jurisdictions = useJurisdictions();
  const mapConfig = useMapConfig();
  const crs = mapConfig.data ? crsOf(mapConfig.data.config) : 'WGS84';
  const save = useSaveZone();
  const remove = useDeleteZone();
  const dryRun = useDryRun();

  const [draft, setDraft] = useState<Draft | null>(null);
  const [geometry, setGeometry] = useState<ZoneGeometry | null>(null);
  const [initial, setInitial] = useState<ZoneGeometry | null>(null);
  const [mode, setMode] = useState<DrawMode>('static');
  const [resetKey, setResetKey] = useState(0);
  const [dryRunSubject, setDryRunSubject] = useState<string | undefined>();
  const [dryRunDays, setDryRunDays] = useState(7);
  const [dry, setDry] = useState<DryRunResult | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');

  const problem = geometry ? shapeProblem(geometry) : null;
  const listed = (zones.data ?? []).filter((z) => !filter || z.name.includes(filter));
  const others = useMemo(
    () => (zones.data ?? []).filter((z) => z.id !== draft?.id),
    [zones.data, draft?.id],
  );

  const start = (zone?: Zone) => {
    setServerError(null);
    setDry(null);
    if (zone) {
      setDraft({
        id: zone.id,
        version: zone.version,
        name: zone.name,
        kind: zone.kind,
        purpose: zone.purpose,
        bufferM: zone.bufferM,
        scheduled: !!zone.schedule,
        windows: zone.schedule?.windows ?? NEW_DRAFT.windows,
        jurisdictionCode: zone.jurisdictionCode,
        subjectId: zone.subjectId ?? undefined,
      });
      setGeometry(zone.geometry);
      setInitial(zone.geometry.type === 'Polygon' ? zone.geometry : null);
      setMode(zone.geometry.type === 'Polygon' ? 'select' : 'static');
      setDryRunSubject(zone.subjectId ?? undefined);
    } else {
      setDraft({ ...NEW_DRAFT, jurisdictionCode: user.jurisdictionCode });
      setGeometry(null);
      setInitial(null);
      setMode('polygon');
    }
    setResetKey((k) => k + 1);
  };

  const definition = (): Omit<ZoneInput, 'name'> | null =>
    draft && geometry
      ? {
          kind: draft.kind,
          purpose: draft.purpose,
          geometry,
          bufferM: draft.bufferM,
          schedule: draft.scheduled ? { timeZone: 'Asia/Shanghai', windows: draft.windows } : null,
        }
      : null;

  const runDry = async () => {
    const zone = definition();
    if (!zone || !dryRunSubject) return;
    setServerError(null);
    try {
      setDry(await dryRun.mutateAsync({ subjectId: dryRunSubject, days: dryRunDays, zone }));
    } catch (err) {
      setServerError(err instanceof ApiError ? err.message : String(err));
    }
  };

  const submit = async () => {
    const zone = definition();
    if (!zone || !draft) return;
    setServerError(null);
    try {
      await save.mutateAsync({
        id: draft.id,
        version: draft.version,
        input: {
          ...zone,
          name: draft.name.trim(),
          ...(draft.jurisdictionCode ? { jurisdictionCode: draft.jurisdictionCode } : {}),
          ...(draft.subjectId ? { subjectId: draft.subjectId } : {}),
        },
      });
      void message.success(t('zones.saved'));
      setDraft(null);
      setGeometry(null);
      setMode('static');
      setResetKey((k) => k + 1);
    } catch (err) {
      setServerError(err instanceof ApiError ? err.message : String(err));
    }
  };

  const offices = (jurisdictions.data ?? []).filter(
    (j) => j.level === 'township' || j.level === 'county',
  );
  const jName = (j: { nameZh: string; nameEn: string }) =>
    i18n.language === 'en' ? j.nameEn || j.nameZh : j.nameZh;
  const dryPoints = (dry?.alerts ?? [])
    .filter((a) => a.lat != null && a.lon != null)
    .map((a) => ({
      lat: a.lat!,
      lon: a.lon!,
      accuracyM: 0,
      source: 'gnss' as const,
      lowAccuracy: false,
    }));

  return (
    <div className="ccm-map-page">
      <MapView testId="zones-map">
        <ZonesLayer zones={others} />
        {draft && geometry && geometry.type !== 'Polygon' && (
          <ZonesLayer zones={[{ ...(NEW_ZONE_VIEW as Zone), geometry }]} id="draft-circle" />
        )}
        {draft && (
          <ZoneDrawing
            mode={mode}
            initial={initial}
            resetKey={resetKey}
            onChange={(g) => {
              setGeometry(g);
              setDry(null);
            }}
          />
        )}
        {dryPoints.length > 0 && <FixesLayer id="dry-run" points={dryPoints} line={false} />}
        {draft?.id && geometry && (
          <FitBounds
            bounds={(() => {
              const z = zones.data?.find((x) => x.id === draft.id);
              return z
                ? [
                    [z.bbox[0], z.bbox[1]],
                    [z.bbox[2], z.bbox[3]],
                  ]
                : null;
            })()}
          />
        )}
      </MapView>
      <div className="ccm-side" style={{ width: 400 }}>
        {!draft && (
          <Card
            size="small"
            title={t('zones.list')}
            extra={
              writer && (
                <Button type="primary" size="small" onClick={() => start()} data-testid="zone-new">
                  {t('zones.new')}
                </Button>
              )
            }
          >
            {!writer && (
              <AntAlert type="info" title={t('zones.readOnly')} style={{ marginBottom: 8 }} />
            )}
            <Input.Search
              allowClear
              onChange={(e) => setFilter(e.target.value)}
              style={{ marginBottom: 8 }}
            />
            <QueryState loading={zones.isLoading} error={zones.error} />
            <List
              size="small"
              dataSource={listed}
              data-testid="zone-list"
              renderItem={(z) => (
                <List.Item
                  data-testid="zone-row"
                  actions={
                    writer
                      ? [
                          <a key="e" onClick={() => start(z)}>
                            {t('zones.edit')}
                          </a>,
                          <Popconfirm
                            key="d"
                            title={t('zones.confirmDelete')}
                            onConfirm={() =>
                              void remove
                                .mutateAsync(z.id)
                                .then(() => message.success(t('zones.deleted')))
                            }
                          >
                            <a>{t('app.delete')}</a>
                          </Popconfirm>,
                        ]
                      : []
                  }
                >
                  <div>
                    <Tag color={z.kind === 'exclusion' ? 'red' : 'blue'}>
                      {t(`zones.purposes.${z.purpose}`)}
                    </Tag>
                    {z.name}
                    <div>
                      <Typography.Text type="secondary">
                        {scheduleText(z.schedule, t)}
                      </Typography.Text>
                    </div>
                  </div>
                </List.Item>
              )}
            />
          </Card>
        )}
        {draft && (
          <Card
            size="small"
            title={draft.id ? `${t('zones.edit')} · ${draft.name}` : t('zones.new')}
            data-testid="zone-form"
          >
            {crs !== 'WGS84' && (
              <AntAlert
                type="info"
                title={t('zones.converted', { crs })}
                style={{ marginBottom: 8 }}
              />
            )}
            <Form layout="vertical" size="small">
              <Form.Item label={t('zones.shape')}>
                <Space wrap>
                  <Button
                    type={mode === 'polygon' ? 'primary' : 'default'}
                    onClick={() => {
                      setMode('polygon');
                    }}
                    data-testid="draw-polygon"
                  >
                    {t('zones.drawPolygon')}
                  </Button>
                  <Button
                    type={mode === 'circle' ? 'primary' : 'default'}
                    onClick={() => setMode('circle')}
                    data-testid="draw-circle"
                  >
                    {t('zones.drawCircle')}
                  </Button>
                  <Button
                    type={mode === 'select' ? 'primary' : 'default'}
                    onClick={() => setMode('select')}
                    disabled={!geometry || geometry.type !== 'Polygon'}
                  >
                    {t('zones.editShape')}
                  </Button>
                  <Button
                    onClick={() => {
                      setGeometry(null);
                      setInitial(null);
                      setResetKey((k) => k + 1);
                      setMode('polygon');
                    }}
                  >
                    {t('zones.clearShape')}
                  </Button>
                </Space>
                <Typography.Paragraph type="secondary" style={{ margin: '4px 0 0' }}>
                  {mode === 'circle' ? t('zones.circleHint') : t('zones.drawHint')}
                </Typography.Paragraph>
                {geometry?.type === 'Circle' && (
                  <Space>
                    {t('zones.radius')}
                    <InputNumber
                      min={10}
                      max={200000}
                      value={geometry.radiusM}
                      onChange={(r) => r && setGeometry({ ...geometry, radiusM: r })}
                    />
                  </Space>
                )}
                {!geometry && (
                  <Typography.Text type="warning">{t('zones.noShape')}</Typography.Text>
                )}
                {problem && (
                  <AntAlert
                    type="error"
                    showIcon
                    title={problemText(problem, t)}
                    data-testid="shape-problem"
                  />
                )}
              </Form.Item>
              <Form.Item label={t('zones.name')} required>
                <Input
                  value={draft.name}
                  onChange={(e) => setDraft({ ...draft, name: e.target.value })}
                  data-testid="zone-name"
                />
              </Form.Item>
              <Form.Item label={t('zones.kind')}>
                <Radio.Group
                  value={draft.kind}
                  onChange={(e) => setDraft({ ...draft, kind: e.target.value as ZoneKind })}
                >
                  <Radio value="exclusion">{t('zones.kinds.exclusion')}</Radio>
                  <Radio value="inclusion">{t('zones.kinds.inclusion')}</Radio>
                </Radio.Group>
              </Form.Item>
              <Form.Item label={t('zones.purpose')}>
                <Select
                  value={draft.purpose}
                  onChange={(purpose) => setDraft({ ...draft, purpose })}
                  options={ZONE_PURPOSES.map((p) => ({
                    value: p,
                    label: t(`zones.purposes.${p}`),
                  }))}
                />
              </Form.Item>
              <Form.Item label={t('zones.buffer')} help={t('zones.bufferHelp')}>
                <InputNumber
                  min={0}
                  max={10000}
                  value={draft.bufferM}
                  onChange={(b) => setDraft({ ...draft, bufferM: b ?? 0 })}
                />
              </Form.Item>
              <Form.Item label={t('zones.jurisdiction')}>
                <Select
                  showSearch
                  optionFilterProp="label"
                  value={draft.jurisdictionCode}
                  onChange={(jurisdictionCode) => setDraft({ ...draft, jurisdictionCode })}
                  options={offices.map((j) => ({ value: j.code, label: jName(j) }))}
                />
              </Form.Item>
              <Form.Item label={t('zones.subject')}>
                <Select
                  allowClear
                  showSearch
                  optionFilterProp="label"
                  value={draft.subjectId}
                  onChange={(subjectId) => setDraft({ ...draft, subjectId })}
                  options={(subjects.data ?? []).map((s) => ({ value: s.id, label: s.name }))}
                />
              </Form.Item>
              <Form.Item label={t('zones.schedule')}>
                <Radio.Group
                  value={draft.scheduled}
                  onChange={(e) => setDraft({ ...draft, scheduled: e.target.value as boolean })}
                >
                  <Radio value={false}>{t('zones.scheduleNone')}</Radio>
                  <Radio value={true}>{t('zones.scheduleWeekly')}</Radio>
                </Radio.Group>
                {draft.scheduled &&
                  draft.windows.map((w, i) => (
                    <div key={i} style={{ marginTop: 8 }}>
                      <Checkbox.Group
                        value={w.days}
                        onChange={(days) =>
                          setDraft({
                            ...draft,
                            windows: draft.windows.map((x, j) =>
                              j === i ? { ...x, days: (days as number[]).sort() } : x,
                            ),
                          })
                        }
                        options={[1, 2, 3, 4, 5, 6, 7].map((d) => ({
                          value: d,
                          label: t(`schedule.weekday.${d}`),
                        }))}
                      />
                      <Space style={{ marginTop: 4 }}>
                        <TimePicker
                          format="HH:mm"
                          value={dayjs(w.start, 'HH:mm')}
                          onChange={(v) =>
                            v &&
                            setDraft({
                              ...draft,
                              windows: draft.windows.map((x, j) =>
                                j === i ? { ...x, start: v.format('HH:mm') } : x,
                              ),
                            })
                          }
                        />
                        –
                        <TimePicker
                          format="HH:mm"
                          value={dayjs(w.end, 'HH:mm')}
                          onChange={(v) =>
                            v &&
                            setDraft({
                              ...draft,
                              windows: draft.windows.map((x, j) =>
                                j === i ? { ...x, end: v.format('HH:mm') } : x,
                              ),
                            })
                          }
                        />
                        {draft.windows.length > 1 && (
                          <Button
                            size="small"
                            type="text"
                            onClick={() =>
                              setDraft({
                                ...draft,
                                windows: draft.windows.filter((_, j) => j !== i),
                              })
                            }
                          >
                            ✕
                          </Button>
                        )}
                      </Space>
                    </div>
                  ))}
                {draft.scheduled && (
                  <Button
                    size="small"
                    style={{ marginTop: 8 }}
                    onClick={() =>
                      setDraft({
                        ...draft,
                        windows: [...draft.windows, { days: [6, 7], start: '09:00', end: '18:00' }],
                      })
                    }
                  >
                    {t('schedule.addWindow')}
                  </Button>
                )}
              </Form.Item>
              <Card
                size="small"
                type="inner"
                title={t('zones.dryRun')}
                style={{ marginBottom: 12 }}
              >
                <Typography.Paragraph type="secondary">
                  {t('zones.dryRunFirst')}
                </Typography.Paragraph>
                <Space wrap>
                  <Select
                    style={{ width: 180 }}
                    showSearch
                    optionFilterProp="label"
                    placeholder={t('zones.dryRunSubject')}
                    value={dryRunSubject}
                    onChange={setDryRunSubject}
                    options={(subjects.data ?? []).map((s) => ({ value: s.id, label: s.name }))}
                    data-testid="dry-run-subject"
                  />
                  <InputNumber
                    min={1}
                    max={30}
                    value={dryRunDays}
                    onChange={(d) => setDryRunDays(d ?? 7)}
                    addonAfter={t('zones.dryRunDays')}
                  />
                  <Button
                    onClick={() => void runDry()}
                    loading={dryRun.isPending}
                    disabled={!geometry || !!problem || !dryRunSubject}
                    data-testid="dry-run"
                  >
                    {t('zones.dryRun')}
                  </Button>
                </Space>
                {dry && (
                  <div data-testid="dry-run-result" style={{ marginTop: 8 }}>
                    <Typography.Text strong>
                      {t('zones.dryRunResult', { fixes: dry.fixesReplayed, count: dry.count })}
                      {dry.truncated ? t('zones.dryRunTruncated') : ''}
                    </Typography.Text>
                    <List
                      size="small"
                      dataSource={dry.alerts}
                      renderItem={(a) => (
                        <List.Item>
                          {t(`alertType.${a.type}`, { defaultValue: a.type })} ·{' '}
                          {formatTime(a.startedAt)}
                          {a.endedAt ? ` – ${formatTime(a.endedAt)}` : ''}
                        </List.Item>
                      )}
                    />
                  </div>
                )}
              </Card>
              {serverError && (
                <AntAlert
                  type="error"
                  showIcon
                  title={t('zones.serverRefused', { message: serverError })}
                  style={{ marginBottom: 8 }}
                  data-testid="zone-error"
                />
              )}
              <Space>
                <Button
                  type="primary"
                  onClick={() => void submit()}
                  loading={save.isPending}
                  disabled={!geometry || !!problem || !draft.name.trim()}
                  data-testid="zone-save"
                >
                  {t('app.save')}
                </Button>
                <Button
                  onClick={() => {
                    setDraft(null);
                    setGeometry(null);
                    setMode('static');
                    setResetKey((k) => k + 1);
                  }}
                >
                  {t('app.cancel')}
                </Button>
              </Space>
            </Form>
          </Card>
        )}
      </div>
    </div>
  );
}

const NEW_ZONE_VIEW: Pick<Zone, 'id' | 'name' | 'kind' | 'purpose'> = {
  id: 'draft',
  name: 'draft',
  kind: 'exclusion',
  purpose: 'other',
};
