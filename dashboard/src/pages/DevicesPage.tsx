import { App, Button, Card, Drawer, List, Progress, Space, Switch, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { canWrite, useUser } from '../api/auth';
import { useDeviceCommands, useDevices, useSendCommand } from '../api/queries';
import type { Device } from '../api/types';
import { errorText, formatTime, QueryState } from '../components/common';
import { ago } from '../i18n';

export function DevicesPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const user = useUser();
  const devices = useDevices();
  const send = useSendCommand();
  const [offlineOnly, setOfflineOnly] = useState(false);
  const [open, setOpen] = useState<string | undefined>();
  const rows = (devices.data ?? []).filter((d) => !offlineOnly || !d.state?.online);
  const command = async (d: Device, type: 'warn' | 'locate') => {
    try {
      await send.mutateAsync({ deviceId: d.id, type });
      void message.success(t('devices.sent', { type: t(`devices.commandType.${type}`) }));
      setOpen(d.id);
    } catch (err) {
      void message.error(errorText(err));
    }
  };
  return (
    <div className="ccm-page">
      <Card
        size="small"
        title={t('devices.title')}
        extra={
          <Space>
            <Switch size="small" checked={offlineOnly} onChange={setOfflineOnly} />
            {t('devices.filterOffline')}
          </Space>
        }
      >
        <QueryState loading={devices.isLoading} error={devices.error} />
        <Table<Device>
          size="small"
          rowKey="id"
          dataSource={rows}
          pagination={{ pageSize: 25 }}
          scroll={{ x: true }}
          data-testid="device-table"
          columns={[
            {
              title: t('devices.id'),
              dataIndex: 'id',
              render: (id: string) => <a onClick={() => setOpen(id)}>{id}</a>,
            },
            {
              title: t('devices.kind'),
              dataIndex: 'kind',
              render: (k: string) => t(`devices.kinds.${k}`),
            },
            {
              title: t('devices.online'),
              key: 'online',
              render: (_: unknown, d) =>
                d.state?.online ? (
                  <Tag color="green">{t('devices.online')}</Tag>
                ) : (
                  <Tag>{t('devices.offline')}</Tag>
                ),
            },
            {
              title: t('devices.battery'),
              key: 'battery',
              render: (_: unknown, d) =>
                d.state?.battery != null ? (
                  <Space size={4}>
                    <Progress
                      percent={d.state.battery}
                      size="small"
                      steps={5}
                      strokeColor={
                        d.state.battery <= 15
                          ? '#e5484d'
                          : d.state.battery <= 30
                            ? '#f59f00'
                            : '#2f9e44'
                      }
                    />
                    {d.state.charging && <Tag color="blue">{t('devices.charging')}</Tag>}
                  </Space>
                ) : (
                  '—'
                ),
            },
            {
              title: t('devices.lastSeen'),
              key: 'seen',
              render: (_: unknown, d) => (
                <span title={formatTime(d.state?.lastSeenAt)}>{ago(d.state?.lastSeenAt)}</span>
              ),
            },
            {
              title: t('devices.firmware'),
              key: 'fw',
              render: (_: unknown, d) => d.state?.firmware ?? '—',
            },
            {
              title: t('devices.vendor'),
              key: 'vendor',
              render: (_: unknown, d) => [d.vendor, d.model].filter(Boolean).join(' / ') || '—',
            },
            {
              title: t('devices.status'),
              dataIndex: 'status',
              render: (s: string) => t(`devices.statuses.${s}`),
            },
            ...(canWrite(user)
              ? [
                  {
                    title: t('devices.commands'),
                    key: 'cmd',
                    render: (_: unknown, d: Device) =>
                      d.kind === 'wristband' && d.status === 'active' ? (
                        <Space size={4}>
                          <Button
                            size="small"
                            onClick={() => void command(d, 'warn')}
                            data-testid="cmd-warn"
                          >
                            {t('devices.warn')}
                          </Button>
                          <Button
                            size="small"
                            onClick={() => void command(d, 'locate')}
                            data-testid="cmd-locate"
                          >
                            {t('devices.locate')}
                          </Button>
                        </Space>
                      ) : null,
                  },
                ]
              : []),
          ]}
        />
      </Card>
      <Drawer
        open={!!open}
        onClose={() => setOpen(undefined)}
        title={`${t('devices.history')} · ${open ?? ''}`}
      >
        {open && <Commands id={open} />}
      </Drawer>
    </div>
  );
}

function Commands({ id }: { id: string }) {
  const { t } = useTranslation();
  const commands = useDeviceCommands(id);
  return (
    <>
      <QueryState loading={commands.isLoading} error={commands.error} />
      <List
        size="small"
        dataSource={commands.data?.items ?? []}
        renderItem={(c) => (
          <List.Item data-testid="command-row">
            <List.Item.Meta
              title={
                <span>
                  {t(`devices.commandType.${c.type}`)}{' '}
                  <Tag
                    color={
                      c.status === 'done'
                        ? 'green'
                        : c.status === 'failed' || c.status === 'rejected'
                          ? 'red'
                          : 'blue'
                    }
                  >
                    {t(`devices.commandStatus.${c.status}`)}
                  </Tag>
                </span>
              }
              description={formatTime(c.createdAt)}
            />
          </List.Item>
        )}
      />
    </>
  );
}
