import { BellOutlined } from '@ant-design/icons';
import { Badge, Button, Empty, List, Popover, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { useUser } from '../api/auth';
import { useMarkRead, useNotifications, type Notification } from '../api/supervision';
import { formatTime } from './common';

/** The header's bell: the user's unread reminders (polled every 30 s), read one or all. */
export function NotificationBell() {
  const user = useUser();
  if (user.role === 'police') return null;
  return <Bell />;
}

function Bell() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const notifications = useNotifications();
  const mark = useMarkRead();
  const unread = notifications.data?.unread ?? 0;

  const openOne = (n: Notification) => {
    if (!n.readAt) mark.mutate(n.id);
    if (n.subjectId) {
      setOpen(false);
      void navigate(`/subjects/${n.subjectId}`);
    }
  };

  const content = (
    <div style={{ width: 360, maxWidth: '80vw' }} data-testid="notifications">
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 4 }}>
        <Typography.Text type="secondary">
          {t('supervision.notifications.unread', { count: unread })}
        </Typography.Text>
        <Button
          size="small"
          type="link"
          disabled={unread === 0}
          loading={mark.isPending}
          onClick={() => mark.mutate('all')}
          data-testid="notifications-read-all"
        >
          {t('supervision.notifications.markAllRead')}
        </Button>
      </Space>
      {notifications.data?.items.length === 0 ? (
        <Empty
          image={Empty.PRESENTED_IMAGE_SIMPLE}
          description={t('supervision.notifications.empty')}
        />
      ) : (
        <List
          size="small"
          style={{ maxHeight: 420, overflowY: 'auto' }}
          dataSource={notifications.data?.items ?? []}
          renderItem={(n) => (
            <List.Item
              style={{ background: n.readAt ? undefined : '#f0f5ff', cursor: 'pointer' }}
              onClick={() => openOne(n)}
              actions={
                n.readAt
                  ? []
                  : [
                      <Button
                        key="read"
                        size="small"
                        type="link"
                        onClick={(e) => {
                          e.stopPropagation();
                          mark.mutate(n.id);
                        }}
                      >
                        {t('supervision.notifications.markRead')}
                      </Button>,
                    ]
              }
            >
              <List.Item.Meta
                title={<Typography.Text strong={!n.readAt}>{n.title}</Typography.Text>}
                description={
                  <>
                    <div>{n.body}</div>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {formatTime(n.createdAt)}
                    </Typography.Text>
                  </>
                }
              />
            </List.Item>
          )}
        />
      )}
    </div>
  );

  return (
    <Popover
      trigger="click"
      placement="bottomRight"
      open={open}
      onOpenChange={setOpen}
      title={t('supervision.notifications.title')}
      content={content}
    >
      <Badge count={unread} size="small" overflowCount={99}>
        <Button
          size="small"
          type="text"
          icon={<BellOutlined />}
          aria-label={t('supervision.notifications.title')}
          data-testid="notification-bell"
          data-unread={unread}
        />
      </Badge>
    </Popover>
  );
}
