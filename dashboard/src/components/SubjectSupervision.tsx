import { SendOutlined } from '@ant-design/icons';
import {
  App,
  Button,
  Card,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Modal,
  Popover,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { canWrite, useUser } from '../api/auth';
import {
  useActivities,
  useCheckinRequests,
  useCheckinStats,
  useRecordActivity,
  useRequestCheckin,
  useSubjectAssessments,
  useSubjectCheckins,
  useVoidActivity,
  type Activity,
  type ActivityKind,
  type CheckinMethod,
  type CheckinRequest,
  type SupervisedCheckin,
} from '../api/supervision';
import { AssessmentsTable } from '../pages/AssessmentsPage';
import { LeaveCreateButton, LeavesTable } from '../pages/LeavesPage';
import { errorText, formatTime, QueryState } from './common';

const METHODS: readonly CheckinMethod[] = ['fingerprint', 'voiceprint', 'face'];
const REQUEST_COLOUR: Record<CheckinRequest['status'], string | undefined> = {
  pending: 'blue',
  met: 'green',
  missed: 'red',
  cancelled: undefined,
};
const OUTCOME_COLOUR = {
  ok: 'green',
  failed: 'red',
  separation: 'magenta',
  unknown_subject: 'orange',
};
const pct = (rate: number) => `${Math.round(rate * 1000) / 10}%`;

function RequestCheckinButton({ subjectId }: { subjectId: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [open, setOpen] = useState(false);
  const request = useRequestCheckin(subjectId);
  const [form] = Form.useForm<{
    method?: CheckinMethod;
    deadlineMinutes?: number;
    note?: string;
  }>();
  const submit = async () => {
    const v = await form.validateFields();
    try {
      await request.mutateAsync({
        ...(v.method ? { method: v.method } : {}),
        ...(v.deadlineMinutes ? { deadlineMinutes: v.deadlineMinutes } : {}),
        ...(v.note?.trim() ? { note: v.note.trim() } : {}),
      });
      void message.success(t('supervision.subject.requested'));
      setOpen(false);
      form.resetFields();
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };
  return (
    <Popover
      trigger="click"
      open={open}
      onOpenChange={setOpen}
      title={t('supervision.subject.requestNow')}
      content={
        <Form form={form} layout="vertical" style={{ width: 260 }}>
          <Form.Item name="method" label={t('supervision.subject.requestMethod')}>
            <Select
              allowClear
              placeholder={t('supervision.subject.anyMethod')}
              options={METHODS.map((m) => ({ value: m, label: t(`checkins.method.${m}`) }))}
            />
          </Form.Item>
          <Form.Item name="deadlineMinutes" label={t('supervision.subject.deadlineMinutes')}>
            <InputNumber min={5} max={4320} style={{ width: '100%' }} />
          </Form.Item>
          <Form.Item name="note" label={t('supervision.common.note')}>
            <Input maxLength={500} />
          </Form.Item>
          <Button
            type="primary"
            block
            loading={request.isPending}
            onClick={() => void submit()}
            data-testid="checkin-request-submit"
          >
            {t('supervision.common.submit')}
          </Button>
        </Form>
      }
    >
      <Button icon={<SendOutlined />} data-testid="checkin-request-now">
        {t('supervision.subject.requestNow')}
      </Button>
    </Popover>
  );
}

function CheckinsTab({ subjectId, writer }: { subjectId: string; writer: boolean }) {
  const { t } = useTranslation();
  const stats = useCheckinStats(subjectId);
  const requests = useCheckinRequests(subjectId);
  const checkins = useSubjectCheckins(subjectId);
  const s = stats.data;
  return (
    <div data-testid="subject-checkins">
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <div>
          <QueryState loading={stats.isLoading} error={stats.error} />
          {s && (
            <>
              <div data-testid="checkin-rate">
                {t('supervision.subject.stats', {
                  rate:
                    s.requests.rate === null
                      ? t('supervision.subject.noRate')
                      : pct(s.requests.rate),
                  owed: s.requests.owed,
                  met: s.requests.met,
                  missed: s.requests.missed,
                  pending: s.requests.pending,
                })}
              </div>
              <Typography.Text type="secondary">
                {t('supervision.subject.statsCheckins', {
                  total: s.checkins.total,
                  match: s.checkins.match,
                  noMatch: s.checkins.noMatch,
                  spoof: s.checkins.spoofSuspected,
                  separations: s.checkins.separations,
                })}
              </Typography.Text>
            </>
          )}
        </div>
        {writer && <RequestCheckinButton subjectId={subjectId} />}
      </Space>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('supervision.subject.requests')}
      </Typography.Title>
      <QueryState error={requests.error} />
      <Table<CheckinRequest>
        size="small"
        rowKey="id"
        loading={requests.isLoading}
        dataSource={requests.data?.items ?? []}
        pagination={{ pageSize: 5 }}
        scroll={{ x: true }}
        columns={[
          {
            title: t('supervision.subject.windowStart'),
            dataIndex: 'windowStart',
            render: (v: string) => formatTime(v),
          },
          {
            title: t('supervision.subject.dueAt'),
            dataIndex: 'dueAt',
            render: (v: string) => formatTime(v),
          },
          {
            title: t('supervision.subject.kindLabel'),
            dataIndex: 'kind',
            render: (v: CheckinRequest['kind']) => t(`supervision.subject.kind.${v}`),
          },
          {
            title: t('supervision.common.status'),
            dataIndex: 'status',
            render: (v: CheckinRequest['status'], r) => (
              <Space size={4}>
                <Tag color={REQUEST_COLOUR[v]}>{t(`supervision.subject.requestStatus.${v}`)}</Tag>
                {r.alertId && (
                  <Link to={`/alerts/${r.alertId}`}>{t('supervision.common.viewAlert')}</Link>
                )}
              </Space>
            ),
          },
          {
            title: t('supervision.subject.metAt'),
            dataIndex: 'metAt',
            render: (v: string | null) => formatTime(v),
          },
        ]}
      />
      <Typography.Title level={5}>{t('supervision.subject.history')}</Typography.Title>
      <QueryState error={checkins.error} />
      <Table<SupervisedCheckin>
        size="small"
        rowKey={(c) => `${c.deviceId}:${c.t}`}
        loading={checkins.isLoading}
        dataSource={checkins.data?.items ?? []}
        pagination={{ pageSize: 5 }}
        scroll={{ x: true }}
        data-testid="checkin-history"
        columns={[
          {
            title: t('supervision.common.time'),
            dataIndex: 't',
            render: (v: string) => formatTime(v),
          },
          {
            title: t('supervision.subject.requestMethod'),
            dataIndex: 'method',
            render: (v: CheckinMethod) => t(`checkins.method.${v}`),
          },
          {
            title: t('supervision.subject.result'),
            dataIndex: 'result',
            render: (v: SupervisedCheckin['result']) => (
              <Tag color={v === 'match' ? 'green' : 'red'}>{t(`checkins.result.${v}`)}</Tag>
            ),
          },
          {
            title: t('supervision.subject.review'),
            key: 'review',
            render: (_: unknown, c) =>
              c.review ? (
                <Space size={4}>
                  <Tag color={OUTCOME_COLOUR[c.review.outcome]}>
                    {t(`supervision.subject.outcome.${c.review.outcome}`, {
                      distance: c.review.distanceM ?? '—',
                    })}
                  </Tag>
                  {c.review.alertId && (
                    <Link to={`/alerts/${c.review.alertId}`}>
                      {t('supervision.common.viewAlert')}
                    </Link>
                  )}
                </Space>
              ) : (
                <Tag>{t('supervision.subject.outcome.unreviewed')}</Tag>
              ),
          },
        ]}
      />
    </div>
  );
}

function ActivitiesTab({ subjectId, writer }: { subjectId: string; writer: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const activities = useActivities(subjectId);
  const record = useRecordActivity(subjectId);
  const voidActivity = useVoidActivity(subjectId);
  const [voiding, setVoiding] = useState<Activity | null>(null);
  const [voidReason, setVoidReason] = useState('');
  const [form] = Form.useForm<{
    kind: ActivityKind;
    occurredOn: Dayjs;
    hours: number;
    note?: string;
  }>();
  const items = activities.data?.items ?? [];
  const sum = (k: ActivityKind) =>
    Math.round(
      items.filter((a) => a.kind === k && !a.voided).reduce((n, a) => n + a.hours, 0) * 10,
    ) / 10;
  const confirmVoid = async () => {
    if (!voiding) return;
    try {
      await voidActivity.mutateAsync({ id: voiding.id, reason: voidReason.trim() });
      void message.success(t('supervision.subject.voidDone'));
      setVoiding(null);
      setVoidReason('');
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };
  const submit = async (v: {
    kind: ActivityKind;
    occurredOn: Dayjs;
    hours: number;
    note?: string;
  }) => {
    try {
      await record.mutateAsync({
        kind: v.kind,
        occurredOn: v.occurredOn.format('YYYY-MM-DD'),
        hours: v.hours,
        ...(v.note?.trim() ? { note: v.note.trim() } : {}),
      });
      void message.success(t('supervision.subject.activityAdded'));
      form.resetFields(['hours', 'note']);
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };
  const req = (field: string) => [
    { required: true, message: t('supervision.common.required', { field }) },
  ];
  return (
    <div data-testid="subject-activities">
      {writer && (
        <Form
          form={form}
          layout="inline"
          initialValues={{ kind: 'education', occurredOn: dayjs() }}
          onFinish={(v) => void submit(v)}
          style={{ marginBottom: 12, rowGap: 8 }}
          data-testid="activity-form"
        >
          <Form.Item name="kind" label={t('supervision.subject.kindLabel')}>
            <Select
              style={{ width: 130 }}
              options={(['education', 'community_service'] as const).map((k) => ({
                value: k,
                label: t(`supervision.subject.activityKind.${k}`),
              }))}
            />
          </Form.Item>
          <Form.Item
            name="occurredOn"
            label={t('supervision.subject.occurredOn')}
            rules={req(t('supervision.subject.occurredOn'))}
          >
            <DatePicker disabledDate={(d) => d.isAfter(dayjs(), 'day')} />
          </Form.Item>
          <Form.Item
            name="hours"
            label={t('supervision.subject.hours')}
            rules={req(t('supervision.subject.hours'))}
          >
            <InputNumber min={0.5} max={24} step={0.5} style={{ width: 90 }} />
          </Form.Item>
          <Form.Item name="note" label={t('supervision.common.note')}>
            <Input maxLength={1000} style={{ width: 180 }} />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={record.isPending}>
            {t('supervision.subject.addActivity')}
          </Button>
        </Form>
      )}
      <Typography.Text type="secondary">
        {t('supervision.subject.totals', {
          education: sum('education'),
          service: sum('community_service'),
        })}
      </Typography.Text>
      <QueryState error={activities.error} />
      <Table<Activity>
        size="small"
        rowKey="id"
        loading={activities.isLoading}
        dataSource={items}
        pagination={{ pageSize: 10 }}
        scroll={{ x: true }}
        columns={[
          { title: t('supervision.subject.occurredOn'), dataIndex: 'occurredOn' },
          {
            title: t('supervision.subject.kindLabel'),
            dataIndex: 'kind',
            render: (v: ActivityKind) => (
              <Tag color={v === 'education' ? 'blue' : 'green'}>
                {t(`supervision.subject.activityKind.${v}`)}
              </Tag>
            ),
          },
          {
            title: t('supervision.subject.hours'),
            dataIndex: 'hours',
            align: 'right',
            render: (v: number, a: Activity) => (a.voided ? <s>{v}</s> : v),
          },
          { title: t('supervision.common.note'), dataIndex: 'note' },
          {
            title: '',
            key: 'void',
            render: (_: unknown, a: Activity) =>
              a.voided ? (
                <Popover content={a.voided.reason} title={formatTime(a.voided.at)}>
                  <Tag data-testid="activity-voided">{t('supervision.subject.voided')}</Tag>
                </Popover>
              ) : writer ? (
                <Button
                  size="small"
                  type="link"
                  data-testid="activity-void"
                  onClick={() => setVoiding(a)}
                >
                  {t('supervision.subject.voidAction')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={voiding !== null}
        title={t('supervision.subject.voidTitle', {
          day: voiding?.occurredOn ?? '',
          hours: voiding?.hours ?? 0,
        })}
        okText={t('supervision.subject.voidAction')}
        okButtonProps={{ danger: true, disabled: voidReason.trim().length < 2 }}
        confirmLoading={voidActivity.isPending}
        onOk={() => void confirmVoid()}
        onCancel={() => setVoiding(null)}
      >
        <Typography.Paragraph type="secondary">
          {t('supervision.subject.voidHint')}
        </Typography.Paragraph>
        <Input.TextArea
          data-testid="activity-void-reason"
          maxLength={500}
          rows={2}
          value={voidReason}
          placeholder={t('supervision.subject.voidReason')}
          onChange={(e) => setVoidReason(e.target.value)}
        />
      </Modal>
    </div>
  );
}

function AssessmentsTab({ subjectId }: { subjectId: string }) {
  const assessments = useSubjectAssessments(subjectId);
  return (
    <>
      <QueryState error={assessments.error} />
      <AssessmentsTable
        items={assessments.data?.items ?? []}
        loading={assessments.isLoading}
        showSubject={false}
      />
    </>
  );
}

/** A subject's supervision (#9): check-ins, leave, assessments and education/service hours. */
export function SubjectSupervision({ subjectId }: { subjectId: string }) {
  const { t } = useTranslation();
  const user = useUser();
  const writer = canWrite(user);
  return (
    <Card size="small" style={{ marginTop: 16 }} data-testid="subject-supervision">
      <Tabs
        size="small"
        items={[
          {
            key: 'checkins',
            label: t('supervision.subject.tabs.checkins'),
            children: <CheckinsTab subjectId={subjectId} writer={writer} />,
          },
          {
            key: 'leaves',
            label: t('supervision.subject.tabs.leaves'),
            children: (
              <>
                {writer && (
                  <div style={{ marginBottom: 12 }}>
                    <LeaveCreateButton subjectId={subjectId} />
                  </div>
                )}
                <LeavesTable subjectId={subjectId} />
              </>
            ),
          },
          {
            key: 'assessments',
            label: t('supervision.subject.tabs.assessments'),
            children: <AssessmentsTab subjectId={subjectId} />,
          },
          {
            key: 'activities',
            label: t('supervision.subject.tabs.activities'),
            children: <ActivitiesTab subjectId={subjectId} writer={writer} />,
          },
        ]}
      />
    </Card>
  );
}
