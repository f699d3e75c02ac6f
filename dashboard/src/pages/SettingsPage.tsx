import { useQueryClient } from '@tanstack/react-query';
import { Alert as AntAlert, Button, Card, Descriptions, Input, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { OVERRIDE_KEY, crsOf, parseMapConfig, safeJson } from '../map/config';
import { MapView } from '../map/MapView';
import { MAP_CONFIG_KEY, useMapConfig } from '../map/useMapConfig';
import { useZones } from '../api/queries';
import { ZonesLayer } from '../map/layers';

/** The deployment's basemap, and a way to try another in this browser only. */
export function SettingsPage() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const mapConfig = useMapConfig();
  const zones = useZones();
  const [text, setText] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const current = mapConfig.data;

  const apply = () => {
    const parsed = parseMapConfig(safeJson(text));
    if (!parsed.ok) {
      setInvalid(parsed.problems.join('; '));
      return;
    }
    setInvalid(null);
    localStorage.setItem(OVERRIDE_KEY, JSON.stringify(parsed.config));
    void qc.invalidateQueries({ queryKey: MAP_CONFIG_KEY });
  };
  const reset = () => {
    localStorage.removeItem(OVERRIDE_KEY);
    void qc.invalidateQueries({ queryKey: MAP_CONFIG_KEY });
  };

  return (
    <div className="ccm-page">
      <Card size="small" title={t('settings.title')}>
        {current?.error && (
          <AntAlert
            type="warning"
            showIcon
            title={t('settings.configError', { message: current.error })}
          />
        )}
        {current?.overridden && (
          <AntAlert
            type="info"
            showIcon
            title={t('settings.overridden')}
            style={{ marginTop: 8 }}
          />
        )}
        {current && (
          <Descriptions size="small" column={1} style={{ marginTop: 8 }}>
            <Descriptions.Item label={t('settings.current')}>
              <span data-testid="map-kind">{t(`settings.kinds.${current.config.kind}`)}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('settings.crs')}>{crsOf(current.config)}</Descriptions.Item>
          </Descriptions>
        )}
        {current?.config.kind === 'offline' && (
          <Typography.Paragraph>{t('settings.offlineNote')}</Typography.Paragraph>
        )}
        <Typography.Paragraph type="secondary">{t('settings.deployment')}</Typography.Paragraph>
        <Typography.Text strong>{t('settings.tryHere')}</Typography.Text>
        <Input.TextArea
          rows={4}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder='{"kind":"raster","tiles":["http://tiles.intranet/{z}/{x}/{y}.png"],"crs":"GCJ02"}'
          style={{ fontFamily: 'monospace', marginTop: 4 }}
          data-testid="map-config-input"
        />
        {invalid && (
          <AntAlert
            type="error"
            title={t('settings.invalid', { message: invalid })}
            style={{ marginTop: 8 }}
          />
        )}
        <Space style={{ marginTop: 8 }}>
          <Button type="primary" onClick={apply} data-testid="map-config-apply">
            {t('settings.apply')}
          </Button>
          <Button onClick={reset} data-testid="map-config-reset">
            {t('settings.reset')}
          </Button>
        </Space>
      </Card>
      <MapView style={{ height: 420, marginTop: 16 }} testId="settings-map">
        <ZonesLayer zones={(zones.data ?? []).filter((z) => z.purpose === 'county')} />
      </MapView>
    </div>
  );
}
