import { App as AntApp, ConfigProvider, Result, Spin } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { lazy, Suspense, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth } from './api/auth';
import type { Role } from './api/types';
import { Shell } from './components/Shell';
import { LiveProvider } from './live/LiveProvider';
import { LoginPage } from './pages/LoginPage';

// Each screen is its own chunk: a police partner's browser loads the query page and the map,
// and ECharts comes only with the statistics.
const AssessmentsPage = lazy(() =>
  import('./pages/AssessmentsPage').then((m) => ({ default: m.AssessmentsPage })),
);
const LeavesPage = lazy(() =>
  import('./pages/LeavesPage').then((m) => ({ default: m.LeavesPage })),
);
const ReportsPage = lazy(() =>
  import('./pages/ReportsPage').then((m) => ({ default: m.ReportsPage })),
);
const AlertsPage = lazy(() =>
  import('./pages/AlertsPage').then((m) => ({ default: m.AlertsPage })),
);
const DevicesPage = lazy(() =>
  import('./pages/DevicesPage').then((m) => ({ default: m.DevicesPage })),
);
const MonitorPage = lazy(() =>
  import('./pages/MonitorPage').then((m) => ({ default: m.MonitorPage })),
);
const PolicePage = lazy(() =>
  import('./pages/PolicePage').then((m) => ({ default: m.PolicePage })),
);
const SettingsPage = lazy(() =>
  import('./pages/SettingsPage').then((m) => ({ default: m.SettingsPage })),
);
const StatisticsPage = lazy(() =>
  import('./pages/StatisticsPage').then((m) => ({ default: m.StatisticsPage })),
);
const SubjectsPage = lazy(() =>
  import('./pages/SubjectsPage').then((m) => ({ default: m.SubjectsPage })),
);
const SubjectPage = lazy(() =>
  import('./pages/SubjectsPage').then((m) => ({ default: m.SubjectPage })),
);
const ZonesPage = lazy(() => import('./pages/ZonesPage').then((m) => ({ default: m.ZonesPage })));

/** Which roles see which screen; police see the partner query and nothing else. */
export const SCREENS: { path: string; key: string; roles: readonly Role[] }[] = [
  { path: '/', key: 'monitor', roles: ['officer', 'bureau', 'auditor'] },
  { path: '/alerts', key: 'alerts', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/subjects', key: 'subjects', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/zones', key: 'zones', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/devices', key: 'devices', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/statistics', key: 'statistics', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/leaves', key: 'leaves', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/assessments', key: 'assessments', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/reports', key: 'reports', roles: ['officer', 'bureau', 'auditor', 'admin'] },
  { path: '/police', key: 'police', roles: ['police'] },
  { path: '/settings', key: 'settings', roles: ['officer', 'bureau', 'auditor', 'admin'] },
];

export const homeFor = (role: Role) =>
  role === 'police' ? '/police' : role === 'admin' ? '/alerts' : '/';

/** Wall screens (≥ 2400 px wide) get larger type; phones the compact layout from CSS. */
function useWallScreen() {
  const [wall, setWall] = useState(() => window.innerWidth >= 2400);
  useEffect(() => {
    const onResize = () => setWall(window.innerWidth >= 2400);
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  return wall;
}

export function App() {
  const { i18n, t } = useTranslation();
  const { user, checking } = useAuth();
  const location = useLocation();
  const wall = useWallScreen();
  useEffect(() => {
    document.title = t('app.title');
  }, [t, i18n.language]);

  const allowed = (path: string) => {
    const screen = SCREENS.find((s) => s.path === path);
    return !!user && !!screen && screen.roles.includes(user.role);
  };
  const guard = (path: string, element: React.ReactNode) =>
    allowed(path) ? element : <Result status="403" title="403" subTitle={t('app.notAllowed')} />;

  let body: React.ReactNode;
  if (checking) {
    body = <Spin style={{ marginTop: '30vh', width: '100%' }} />;
  } else if (!user) {
    body = (
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route
          path="*"
          element={<Navigate to="/login" replace state={{ from: location.pathname }} />}
        />
      </Routes>
    );
  } else {
    body = (
      <LiveProvider user={user}>
        <Shell>
          <Suspense fallback={<Spin style={{ display: 'block', margin: 48 }} />}>
            <Routes>
              <Route path="/login" element={<Navigate to={homeFor(user.role)} replace />} />
              <Route
                path="/"
                element={
                  allowed('/') ? <MonitorPage /> : <Navigate to={homeFor(user.role)} replace />
                }
              />
              <Route path="/alerts" element={guard('/alerts', <AlertsPage />)} />
              <Route path="/alerts/:id" element={guard('/alerts', <AlertsPage />)} />
              <Route path="/subjects" element={guard('/subjects', <SubjectsPage />)} />
              <Route path="/subjects/:id" element={guard('/subjects', <SubjectPage />)} />
              <Route path="/zones" element={guard('/zones', <ZonesPage />)} />
              <Route path="/devices" element={guard('/devices', <DevicesPage />)} />
              <Route path="/statistics" element={guard('/statistics', <StatisticsPage />)} />
              <Route path="/leaves" element={guard('/leaves', <LeavesPage />)} />
              <Route path="/assessments" element={guard('/assessments', <AssessmentsPage />)} />
              <Route path="/reports" element={guard('/reports', <ReportsPage />)} />
              <Route path="/police" element={guard('/police', <PolicePage />)} />
              <Route path="/settings" element={guard('/settings', <SettingsPage />)} />
              <Route
                path="*"
                element={<Result status="404" title="404" subTitle={t('app.notFound')} />}
              />
            </Routes>
          </Suspense>
        </Shell>
      </LiveProvider>
    );
  }

  return (
    <ConfigProvider
      locale={i18n.language === 'en' ? enUS : zhCN}
      theme={{ token: { colorPrimary: '#1d4ed8', fontSize: wall ? 18 : 14 } }}
    >
      <AntApp>{body}</AntApp>
    </ConfigProvider>
  );
}
