import {
  AimOutlined,
  AlertOutlined,
  BarChartOutlined,
  CarOutlined,
  ClusterOutlined,
  FileTextOutlined,
  GlobalOutlined,
  LogoutOutlined,
  MenuOutlined,
  SearchOutlined,
  SettingOutlined,
  TeamOutlined,
  TrophyOutlined,
  WifiOutlined,
} from '@ant-design/icons';
import { Badge, Button, Layout, Menu, Segmented, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router-dom';
import { useAuth, useUser } from '../api/auth';
import { useAlerts } from '../api/queries';
import { SCREENS } from '../App';
import { setLanguage, type Language } from '../i18n';
import { useLive } from '../live/LiveProvider';
import { NotificationBell } from './NotificationBell';

const ICONS: Record<string, ReactNode> = {
  monitor: <GlobalOutlined />,
  alerts: <AlertOutlined />,
  subjects: <TeamOutlined />,
  zones: <AimOutlined />,
  devices: <WifiOutlined />,
  statistics: <BarChartOutlined />,
  leaves: <CarOutlined />,
  assessments: <TrophyOutlined />,
  reports: <FileTextOutlined />,
  police: <SearchOutlined />,
  settings: <SettingOutlined />,
};

const LIVE_COLOUR = {
  live: 'green',
  connecting: 'blue',
  reconnecting: 'orange',
  closed: 'default',
} as const;

export function Shell({ children }: { children: ReactNode }) {
  const { t, i18n } = useTranslation();
  const user = useUser();
  const { logout } = useAuth();
  const { status } = useLive();
  const location = useLocation();
  const [collapsed, setCollapsed] = useState(false);
  const openAlerts = useAlerts({ status: 'open', limit: 1 }, user.role !== 'police');

  const screens = SCREENS.filter((s) => s.roles.includes(user.role));
  const selected =
    screens
      .filter((s) =>
        s.path === '/' ? location.pathname === '/' : location.pathname.startsWith(s.path),
      )
      .map((s) => s.key)[0] ?? '';
  const openCount = openAlerts.data?.items.length ? '•' : null;

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        breakpoint="lg"
        collapsedWidth={0}
        collapsible
        trigger={null}
        collapsed={collapsed}
        onCollapse={setCollapsed}
        width={200}
        data-testid="nav"
      >
        <div style={{ color: '#fff', padding: '16px 16px 8px', fontWeight: 600 }}>
          <ClusterOutlined /> {t('app.short')}
        </div>
        <Menu
          theme="dark"
          mode="inline"
          selectedKeys={[selected]}
          onClick={() => window.innerWidth < 992 && setCollapsed(true)}
          items={screens.map((s) => ({
            key: s.key,
            icon: ICONS[s.key],
            label: (
              <Link to={s.path} data-testid={`nav-${s.key}`}>
                {t(`nav.${s.key}`)}
                {s.key === 'alerts' && openCount ? (
                  <Badge status="error" style={{ marginLeft: 8 }} />
                ) : null}
              </Link>
            ),
          }))}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            background: '#fff',
            padding: '6px 12px',
            height: 'auto',
            minHeight: 64,
            lineHeight: 'normal',
            display: 'flex',
            flexWrap: 'wrap',
            alignItems: 'center',
            gap: 8,
            borderBottom: '1px solid #f0f0f0',
          }}
        >
          <Button
            type="text"
            icon={<MenuOutlined />}
            onClick={() => setCollapsed(!collapsed)}
            aria-label="menu"
            data-testid="menu-toggle"
          />
          <Typography.Text strong ellipsis style={{ flex: 1, minWidth: 120 }}>
            {t('app.title')}
          </Typography.Text>
          <Space wrap size="small">
            {user.role !== 'police' && (
              <Tag color={LIVE_COLOUR[status]} data-testid="live-status" data-status={status}>
                {t(`app.live.${status}`)}
              </Tag>
            )}
            <NotificationBell />
            <Segmented
              size="small"
              value={i18n.language}
              onChange={(v) => void setLanguage(v as Language)}
              options={[
                { label: '中文', value: 'zh-CN' },
                { label: 'EN', value: 'en' },
              ]}
              data-testid="language"
            />
            <Typography.Text type="secondary" data-testid="whoami" className="ccm-hide-phone">
              {user.displayName} · {t(`role.${user.role}`)}
            </Typography.Text>
            <Button size="small" icon={<LogoutOutlined />} onClick={() => void logout()}>
              {t('app.logout')}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content>{children}</Layout.Content>
      </Layout>
    </Layout>
  );
}
