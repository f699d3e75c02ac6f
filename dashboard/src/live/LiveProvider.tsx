import { useQueryClient } from '@tanstack/react-query';
import { App } from 'antd';
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { getToken } from '../api/client';
import type { Alert, User } from '../api/types';
import { LiveStream, playAlarm, type StreamStatus } from './stream';

interface LiveState {
  status: StreamStatus;
  /** Ids of alerts that arrived over the stream during this session (highlighted). */
  arrived: ReadonlySet<string>;
}

const LiveContext = createContext<LiveState>({ status: 'closed', arrived: new Set() });
export const useLive = () => useContext(LiveContext);

/** One live stream per signed-in session (not for police: the stream refuses that role). */
export function LiveProvider({ user, children }: { user: User; children: ReactNode }) {
  const queryClient = useQueryClient();
  const { notification } = App.useApp();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [status, setStatus] = useState<StreamStatus>('closed');
  const [arrived, setArrived] = useState<ReadonlySet<string>>(new Set());
  const handlers = useRef({ t, notification, navigate });
  handlers.current = { t, notification, navigate };

  useEffect(() => {
    const token = getToken();
    if (!token || user.role === 'police') return;
    const stream = new LiveStream({
      token,
      queryClient,
      onStatus: setStatus,
      onAlert: (alert: Alert) => {
        setArrived((s) => new Set(s).add(alert.id));
        const { t: tr, notification: n, navigate: nav } = handlers.current;
        if (alert.severity === 'critical') playAlarm();
        n.open({
          type: alert.severity === 'critical' || alert.severity === 'high' ? 'error' : 'warning',
          message: tr('alerts.arrived', { type: tr(`alertType.${alert.type}`) }),
          description: tr(`severity.${alert.severity}`),
          onClick: () => nav(`/alerts/${alert.id}`),
          duration: alert.severity === 'critical' ? 0 : 8,
          className: 'live-alert-notice',
        });
      },
    });
    stream.start();
    return () => stream.stop();
  }, [user.id, user.role, queryClient]);

  return <LiveContext.Provider value={{ status, arrived }}>{children}</LiveContext.Provider>;
}
