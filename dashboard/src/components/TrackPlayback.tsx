import { CaretRightOutlined, PauseOutlined } from '@ant-design/icons';
import { Alert as AntAlert, Button, DatePicker, Select, Slider, Space, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useTrack, useSubjectZones } from '../api/queries';
import { MapView } from '../map/MapView';
import { FixesLayer, SOURCE_COLOURS, ZonesLayer } from '../map/layers';
import { formatTime, QueryState } from './common';

/** Track time per second of playback. */
const SPEEDS = [1, 10, 60, 300, 1800];

/** Fix-time index of the last fix at or before `t` (points sorted by time). */
export function indexAt(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo; // count of fixes at or before t
}

/**
 * Track playback: a time slider over the window, play/pause and speed; fixes coloured by
 * source with their accuracy circles, the subject's zones underneath.
 */
export function TrackPlayback({ subjectId }: { subjectId: string }) {
  const { t } = useTranslation();
  const [range, setRange] = useState<[Dayjs, Dayjs]>(() => [dayjs().subtract(6, 'hour'), dayjs()]);
  const [requested, setRequested] = useState<[string, string] | null>(null);
  const track = useTrack(subjectId, requested?.[0] ?? '', requested?.[1] ?? '', !!requested);
  const zones = useSubjectZones(subjectId);
  const points = useMemo(() => track.data?.points ?? [], [track.data]);
  const times = useMemo(() => points.map((p) => new Date(p.t).getTime()), [points]);
  const start = times[0] ?? 0;
  const end = times.at(-1) ?? 0;
  const [cursor, setCursor] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(60);

  useEffect(() => {
    setCursor(end);
    setPlaying(false);
  }, [start, end]);

  useEffect(() => {
    if (!playing) return;
    const stepMs = 100;
    const timer = setInterval(() => {
      setCursor((c) => {
        const next = c + speed * stepMs;
        if (next >= end) {
          setPlaying(false);
          return end;
        }
        return next;
      });
    }, stepMs);
    return () => clearInterval(timer);
  }, [playing, speed, end]);

  const shown = indexAt(times, cursor);
  const currentPoint = points[shown - 1];

  return (
    <div data-testid="track-playback">
      <Space wrap style={{ marginBottom: 8 }}>
        <DatePicker.RangePicker
          showTime
          value={range}
          onChange={(v) => v?.[0] && v[1] && setRange([v[0], v[1]])}
          allowClear={false}
        />
        <Button
          type="primary"
          onClick={() => setRequested([range[0].toISOString(), range[1].toISOString()])}
          data-testid="track-load"
        >
          {t('track.load')}
        </Button>
      </Space>
      <QueryState loading={track.isFetching} error={track.error} />
      {track.data && points.length === 0 && <AntAlert type="info" title={t('track.none')} />}
      {points.length > 0 && (
        <>
          <Space wrap style={{ width: '100%', marginBottom: 4 }}>
            <Button
              icon={playing ? <PauseOutlined /> : <CaretRightOutlined />}
              onClick={() => {
                if (!playing && cursor >= end) setCursor(start);
                setPlaying(!playing);
              }}
              data-testid="track-play"
            >
              {playing ? t('track.pause') : t('track.play')}
            </Button>
            <Space size={4}>
              {t('track.speed')}
              <Select
                style={{ width: 90 }}
                value={speed}
                onChange={setSpeed}
                options={SPEEDS.map((s) => ({ value: s, label: `${s}×` }))}
                data-testid="track-speed"
              />
            </Space>
            <Typography.Text data-testid="track-count">
              {t('track.points', { shown, total: points.length })}
            </Typography.Text>
            {currentPoint && (
              <Typography.Text type="secondary" data-testid="track-time">
                {formatTime(currentPoint.t)} · {t(`source.${currentPoint.source}`)} · ±
                {Math.round(currentPoint.accuracyM ?? 0)} m
                {currentPoint.lowAccuracy ? ` · ${t('track.lowAccuracy')}` : ''}
              </Typography.Text>
            )}
          </Space>
          <Slider
            min={start}
            max={end}
            value={cursor}
            step={1000}
            onChange={(v) => {
              setPlaying(false);
              setCursor(v);
            }}
            tooltip={{ formatter: (v) => (v ? formatTime(new Date(v).toISOString()) : '') }}
            data-testid="track-slider"
          />
          {track.data?.downsampled && (
            <Typography.Text type="secondary">{t('track.downsampled')} · </Typography.Text>
          )}
          <Typography.Text type="secondary">
            {t('track.legend')}{' '}
            {Object.entries(SOURCE_COLOURS).map(([k, c]) => (
              <span key={k} className="ccm-legend-dot" style={{ background: c, marginLeft: 6 }} />
            ))}
          </Typography.Text>
        </>
      )}
      <MapView style={{ height: 420, marginTop: 8 }} testId="track-map">
        <ZonesLayer zones={(zones.data ?? []).map((z) => z.zone)} id="track-zones" />
        {points.length > 0 && <FixesLayer id="track" points={points} upTo={shown} fit />}
      </MapView>
    </div>
  );
}
