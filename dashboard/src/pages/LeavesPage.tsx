import { PlusOutlined } from '@ant-design/icons';
import {
  Alert as AntAlert,
  App,
  Button,
  Card,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Modal,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { canWrite, useUser } from '../api/auth';
import { useSubjects } from '../api/queries';
import {
  LEAVE_STATUSES,
  MAX_LEAVE_DAYS,
  TOWNSHIP_MAX_DAYS,
  useCreateLeave,
  useLeaveAction,
  useLeaves,
  type Leave,
  type LeaveStatus,
} from '../api/supervision';
import { errorText, formatTime, QueryState } from '../components/common';

const STATUS_COLOUR: Record<LeaveStatus, string> = {
  pending: 'gold',
  approved: 'green',
  rejected: 'red',
  cancelled: 'default',
};

/** Days of a leave as the rules count them (a started day counts), and who approves it. */
export function leaveRule(start: Dayjs | null | undefined, end: Dayjs | null | undefined) {
  if (!start || !end) return null;
  const ms = end.valueOf() - start.valueOf();
  if (ms <= 0) return { ok: false as const, days: 0, approver: null };
  const days = Math.ceil(ms / 86_400_000);
  if (ms > MAX_LEAVE_DAYS * 86_400_000) return { ok: false as const, days, approver: null };
  return {
    ok: true as const,
    days,
    approver: ms <= TOWNSHIP_MAX_DAYS * 86_400_000 ? ('township' as const) : ('county' as const),
  };
}

/** Asks for a required reason, then runs `onOk` with it. */
function ReasonModal({
  open,
  title,
  label,
  loading,
  onOk,
  onCancel,
}: {
  open: boolean;
  title: string;
  label: string;
  loading: boolean;
  onOk: (reason: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ reason: string }>();
  return (
    <Modal
      open={open}
      title={title}
      confirmLoading={loading}
      onCancel={onCancel}
      onOk={() => void form.validateFields().then((v) => onOk(v.reason.trim()))}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" preserve={false}>
        <Form.Item
          name="reason"
          label={label}
          rules={[
            {
              required: true,
              whitespace: true,
              message: t('supervision.common.required', { field: label }),
            },
          ]}
        >
          <Input.TextArea rows={3} maxLength={2000} data-testid="reason-input" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

interface LeaveFormValues {
  subjectId: string;
  destination: string;
  lon: number;
  lat: number;
  radiusM: number;
  reason: string;
  startsAt: Dayjs;
  endsAt: Dayjs;
  travelHours: number;
}

/** The "record a leave request" button and its form; `subjectId` fixes the subject. */
export function LeaveCreateButton({ subjectId }: { subjectId?: string }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<LeaveFormValues>();
  const subjects = useSubjects(open && !subjectId);
  const create = useCreateLeave();
  const start = Form.useWatch('startsAt', form);
  const end = Form.useWatch('endsAt', form);
  const rule = leaveRule(start, end);
  const req = (field: string) => ({
    required: true,
    message: t('supervision.common.required', { field }),
  });

  const submit = async () => {
    const v = await form.validateFields();
    const r = leaveRule(v.startsAt, v.endsAt);
    if (!r?.ok) return;
    try {
      await create.mutateAsync({
        subjectId: subjectId ?? v.subjectId,
        input: {
          destination: v.destination.trim(),
          destinationGeometry: { type: 'Circle', center: [v.lon, v.lat], radiusM: v.radiusM },
          reason: v.reason.trim(),
          startsAt: v.startsAt.toISOString(),
          endsAt: v.endsAt.toISOString(),
          travelHours: v.travelHours,
        },
      });
      void message.success(t('supervision.leaves.created'));
      setOpen(false);
      form.resetFields();
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };

  return (
    <>
      <Button
        type="primary"
        icon={<PlusOutlined />}
        onClick={() => setOpen(true)}
        data-testid="leave-create"
      >
        {t('supervision.leaves.create')}
      </Button>
      <Modal
        open={open}
        title={t('supervision.leaves.create')}
        onCancel={() => setOpen(false)}
        onOk={() => void submit()}
        okButtonProps={{ disabled: !!rule && !rule.ok }}
        confirmLoading={create.isPending}
        width={640}
        destroyOnHidden
      >
        <Form
          form={form}
          layout="vertical"
          initialValues={{ travelHours: 12, radiusM: 5000 }}
          data-testid="leave-form"
        >
          {!subjectId && (
            <Form.Item
              name="subjectId"
              label={t('supervision.common.subject')}
              rules={[req(t('supervision.common.subject'))]}
            >
              <Select
                showSearch
                optionFilterProp="label"
                loading={subjects.isLoading}
                options={(subjects.data ?? [])
                  .filter((s) => s.status === 'active')
                  .map((s) => ({ value: s.id, label: s.name }))}
              />
            </Form.Item>
          )}
          <Form.Item
            name="destination"
            label={t('supervision.leaves.destination')}
            rules={[req(t('supervision.leaves.destination'))]}
          >
            <Input maxLength={200} />
          </Form.Item>
          <Typography.Text type="secondary">{t('supervision.leaves.area')}</Typography.Text>
          <Space wrap style={{ display: 'flex', marginTop: 4 }}>
            <Form.Item
              name="lon"
              label={t('supervision.leaves.centerLon')}
              rules={[req(t('supervision.leaves.centerLon'))]}
            >
              <InputNumber min={-180} max={180} step={0.001} style={{ width: 150 }} />
            </Form.Item>
            <Form.Item
              name="lat"
              label={t('supervision.leaves.centerLat')}
              rules={[req(t('supervision.leaves.centerLat'))]}
            >
              <InputNumber min={-90} max={90} step={0.001} style={{ width: 150 }} />
            </Form.Item>
            <Form.Item
              name="radiusM"
              label={t('supervision.leaves.radiusM')}
              rules={[req(t('supervision.leaves.radiusM'))]}
            >
              <InputNumber min={100} max={200_000} step={500} style={{ width: 150 }} />
            </Form.Item>
          </Space>
          <Form.Item
            name="reason"
            label={t('supervision.leaves.reason')}
            rules={[req(t('supervision.leaves.reason'))]}
          >
            <Input.TextArea rows={2} maxLength={2000} />
          </Form.Item>
          <Space wrap style={{ display: 'flex' }}>
            <Form.Item
              name="startsAt"
              label={t('supervision.leaves.startsAt')}
              rules={[req(t('supervision.leaves.startsAt'))]}
            >
              <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" />
            </Form.Item>
            <Form.Item
              name="endsAt"
              label={t('supervision.leaves.endsAt')}
              rules={[req(t('supervision.leaves.endsAt'))]}
            >
              <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" />
            </Form.Item>
            <Form.Item name="travelHours" label={t('supervision.leaves.travelHours')}>
              <InputNumber min={0} max={72} precision={0} style={{ width: 120 }} />
            </Form.Item>
          </Space>
          {rule && (
            <AntAlert
              data-testid="leave-approval-hint"
              type={rule.ok ? 'info' : 'error'}
              showIcon
              title={
                rule.ok
                  ? t('supervision.leaves.approvalHint', {
                      days: rule.days,
                      approver: t(`supervision.leaves.approver.${rule.approver}`),
                    })
                  : rule.days > 0
                    ? t('supervision.leaves.tooLong', { days: rule.days })
                    : t('supervision.leaves.badPeriod')
              }
            />
          )}
        </Form>
      </Modal>
    </>
  );
}

/** Leave requests in scope (or of one subject), with the decisions a writer may take. */
export function LeavesTable({ subjectId, status }: { subjectId?: string; status?: LeaveStatus }) {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const user = useUser();
  const writer = canWrite(user);
  const leaves = useLeaves({ subjectId, status });
  const action = useLeaveAction();
  const [asking, setAsking] = useState<{ leave: Leave; kind: 'reject' | 'cancel' } | null>(null);

  const run = async (id: string, kind: 'approve' | 'reject' | 'cancel', note?: string) => {
    try {
      await action.mutateAsync({ id, action: kind, ...(note ? { note } : {}) });
      void message.success(
        t(
          `supervision.leaves.${kind === 'approve' ? 'approved' : kind === 'reject' ? 'rejected' : 'cancelled'}`,
        ),
      );
      setAsking(null);
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };
  const now = Date.now();
  /** Longer than 7 days: only the bureau (or the admin) approves, rejects or ends it. */
  const mayDecide = (l: Leave) => l.approvalLevel === 'township' || user.role !== 'officer';

  return (
    <>
      <QueryState loading={leaves.isLoading} error={leaves.error} />
      <Table<Leave>
        size="small"
        rowKey="id"
        dataSource={leaves.data?.items ?? []}
        pagination={{ pageSize: 20 }}
        scroll={{ x: true }}
        data-testid="leaves-table"
        expandable={{
          expandedRowRender: (l) => (
            <div>
              <div>
                {t('supervision.leaves.reason')}：{l.reason}
              </div>
              {l.decisionNote && (
                <div>
                  {t('supervision.leaves.decision')}：{l.decisionNote}
                </div>
              )}
            </div>
          ),
        }}
        columns={[
          ...(subjectId
            ? []
            : [
                {
                  title: t('supervision.common.subject'),
                  key: 'subject',
                  render: (_: unknown, l: Leave) => (
                    <Link to={`/subjects/${l.subjectId}`}>{l.subjectName}</Link>
                  ),
                },
              ]),
          { title: t('supervision.leaves.destination'), dataIndex: 'destination' },
          {
            title: t('supervision.leaves.period'),
            key: 'period',
            render: (_: unknown, l) => (
              <span>
                {formatTime(l.startsAt)} – {formatTime(l.endsAt)}{' '}
                <Tag>{t('supervision.leaves.days', { count: l.days })}</Tag>
              </span>
            ),
          },
          {
            title: t('supervision.leaves.approvalLevel'),
            dataIndex: 'approvalLevel',
            render: (v: Leave['approvalLevel']) => t(`supervision.leaves.approver.${v}`),
          },
          {
            title: t('supervision.common.status'),
            dataIndex: 'status',
            render: (v: LeaveStatus) => (
              <Tag color={STATUS_COLOUR[v]}>{t(`supervision.leaves.status.${v}`)}</Tag>
            ),
          },
          {
            title: t('supervision.leaves.returnStatus'),
            key: 'return',
            render: (_: unknown, l) =>
              l.status !== 'approved' && !l.returnStatus ? (
                '—'
              ) : (
                <Space size={4} wrap>
                  <Tag
                    color={
                      l.returnStatus === 'returned'
                        ? 'green'
                        : l.returnStatus === 'not_returned'
                          ? 'red'
                          : undefined
                    }
                  >
                    {t(`supervision.leaves.return.${l.returnStatus ?? 'unchecked'}`)}
                  </Tag>
                  {l.returnAlertId && (
                    <Link to={`/alerts/${l.returnAlertId}`}>
                      {t('supervision.common.viewAlert')}
                    </Link>
                  )}
                </Space>
              ),
          },
          ...(writer
            ? [
                {
                  title: t('supervision.common.actions'),
                  key: 'actions',
                  render: (_: unknown, l: Leave) => (
                    <Space size={4} wrap>
                      {l.status === 'pending' && mayDecide(l) && (
                        <>
                          <Button
                            size="small"
                            type="primary"
                            data-testid="leave-approve"
                            onClick={() =>
                              modal.confirm({
                                title: t('supervision.leaves.approve'),
                                content: t('supervision.leaves.approveConfirm'),
                                onOk: () => run(l.id, 'approve'),
                              })
                            }
                          >
                            {t('supervision.leaves.approve')}
                          </Button>
                          <Button
                            size="small"
                            danger
                            onClick={() => setAsking({ leave: l, kind: 'reject' })}
                          >
                            {t('supervision.leaves.reject')}
                          </Button>
                        </>
                      )}
                      {l.status === 'pending' && (
                        <Button
                          size="small"
                          onClick={() => setAsking({ leave: l, kind: 'cancel' })}
                        >
                          {t('supervision.leaves.cancel')}
                        </Button>
                      )}
                      {l.status === 'pending' && !mayDecide(l) && (
                        <Tag>{t('supervision.leaves.needsBureau')}</Tag>
                      )}
                      {l.status === 'approved' && mayDecide(l) && Date.parse(l.endsAt) > now && (
                        <Button
                          size="small"
                          onClick={() => setAsking({ leave: l, kind: 'cancel' })}
                        >
                          {t('supervision.leaves.endEarly')}
                        </Button>
                      )}
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <ReasonModal
        open={!!asking}
        title={
          asking
            ? t(
                `supervision.leaves.${
                  asking.kind === 'reject'
                    ? 'reject'
                    : asking.leave.status === 'approved'
                      ? 'endEarly'
                      : 'cancel'
                }`,
              )
            : ''
        }
        label={t(
          asking?.kind === 'reject'
            ? 'supervision.leaves.rejectReason'
            : 'supervision.leaves.cancelReason',
        )}
        loading={action.isPending}
        onCancel={() => setAsking(null)}
        onOk={(reason) => asking && void run(asking.leave.id, asking.kind, reason)}
      />
    </>
  );
}

export function LeavesPage() {
  const { t } = useTranslation();
  const user = useUser();
  const [status, setStatus] = useState<LeaveStatus | ''>('pending');
  return (
    <div className="ccm-page">
      <Card
        size="small"
        title={t('supervision.leaves.title')}
        extra={
          canWrite(user) ? <LeaveCreateButton /> : <Tag>{t('supervision.common.readOnly')}</Tag>
        }
      >
        <Space style={{ marginBottom: 12 }} wrap>
          <Typography.Text>{t('supervision.common.status')}</Typography.Text>
          <Select<LeaveStatus | ''>
            value={status}
            onChange={setStatus}
            style={{ width: 180 }}
            data-testid="leave-status-filter"
            options={[
              { value: '', label: t('supervision.common.any') },
              ...LEAVE_STATUSES.map((s) => ({
                value: s,
                label: t(`supervision.leaves.status.${s}`),
              })),
            ]}
          />
        </Space>
        <LeavesTable {...(status ? { status } : {})} />
      </Card>
    </div>
  );
}
