import { CalculatorOutlined } from '@ant-design/icons';
import {
  Alert as AntAlert,
  App,
  Button,
  Card,
  Descriptions,
  Divider,
  Drawer,
  Form,
  Input,
  List,
  Select,
  Space,
  Table,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { canWrite, useUser } from '../api/auth';
import {
  LEVELS,
  SANCTIONS,
  useAssessment,
  useAssessmentDecision,
  useAssessments,
  useComputeAssessments,
  type Assessment,
  type AssessmentStatus,
  type Sanction,
} from '../api/supervision';
import type { ManagementLevel } from '../api/types';
import { errorText, formatTime, MonthPicker, QueryState } from '../components/common';

export const SANCTION_COLOUR: Record<Sanction, string | undefined> = {
  none: undefined,
  admonition: 'gold',
  warning: 'orange',
  revocation_request: 'red',
};
export const ASSESSMENT_STATUS_COLOUR: Record<AssessmentStatus, string> = {
  recommended: 'blue',
  confirmed: 'green',
  overridden: 'purple',
};

const pct = (rate: number) => `${Math.round(rate * 1000) / 10}%`;

export function SanctionTag({ sanction }: { sanction: Sanction }) {
  const { t } = useTranslation();
  return (
    <Tag color={SANCTION_COLOUR[sanction]}>{t(`supervision.assessments.sanction.${sanction}`)}</Tag>
  );
}

/** One assessment: the facts, the reasons (in the API's own zh/en words), history, decision. */
export function AssessmentDetail({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const user = useUser();
  const query = useAssessment(id);
  const decide = useAssessmentDecision();
  const [note, setNote] = useState('');
  const [form] = Form.useForm<{ level: ManagementLevel; sanction: Sanction; reason: string }>();
  const a = query.data;
  if (!a) return <QueryState loading={query.isLoading} error={query.error} />;
  const f = a.facts;
  const en = i18n.language === 'en';

  const run = async (
    body: Parameters<typeof decide.mutateAsync>[0],
    done: 'confirmed' | 'overridden',
  ) => {
    try {
      await decide.mutateAsync(body);
      await query.refetch();
      void message.success(t(`supervision.assessments.${done}`));
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };

  return (
    <div data-testid="assessment-detail">
      <Descriptions size="small" column={1} bordered>
        <Descriptions.Item label={t('supervision.common.subject')}>
          <Link to={`/subjects/${a.subjectId}`}>{a.subjectName}</Link> · {a.month}
        </Descriptions.Item>
        <Descriptions.Item label={t('supervision.assessments.score')}>
          <Typography.Text strong>{a.score}</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t('supervision.assessments.currentLevel')}>
          {t(`level.${a.currentLevel}`)}
        </Descriptions.Item>
        <Descriptions.Item label={t('supervision.assessments.recommendedLevel')}>
          {t(`level.${a.recommendedLevel}`)}
        </Descriptions.Item>
        <Descriptions.Item label={t('supervision.assessments.recommendedSanction')}>
          <SanctionTag sanction={a.recommendedSanction} />
        </Descriptions.Item>
        <Descriptions.Item label={t('supervision.common.status')}>
          <Tag color={ASSESSMENT_STATUS_COLOUR[a.status]}>
            {t(`supervision.assessments.status.${a.status}`)}
          </Tag>
          {a.finalLevel && `${t(`level.${a.finalLevel}`)} `}
          {a.finalSanction && <SanctionTag sanction={a.finalSanction} />}
        </Descriptions.Item>
        {a.decisionReason && (
          <Descriptions.Item label={t('supervision.assessments.decisionReason')}>
            {a.decisionReason}
          </Descriptions.Item>
        )}
      </Descriptions>

      <Divider titlePlacement="start">{t('supervision.assessments.facts')}</Divider>
      {f.period.partial && (
        <AntAlert type="warning" showIcon title={t('supervision.assessments.partial')} />
      )}
      <ul style={{ paddingLeft: 20 }}>
        <li>
          {t('supervision.assessments.period')}: {formatTime(f.period.from)} –{' '}
          {formatTime(f.period.to)}
        </li>
        <li>
          {t('supervision.assessments.violations', {
            counted: f.violations.counted,
            excluded: f.violations.excluded,
          })}
        </li>
        <li>
          {t('supervision.assessments.checkinRate', {
            rate: pct(f.checkins.rate),
            met: f.checkins.met,
            missed: f.checkins.missed,
          })}
        </li>
        <li>{t('supervision.assessments.separations', { count: f.separations.count })}</li>
        <li>{t('supervision.assessments.hours', { ...f.hours })}</li>
        <li>{t('supervision.assessments.scoreLine', { ...f.score })}</li>
      </ul>

      <Divider titlePlacement="start">{t('supervision.assessments.reasons')}</Divider>
      <List
        size="small"
        dataSource={f.reasons}
        data-testid="assessment-reasons"
        renderItem={(r) => (
          <List.Item>
            <span>
              {en ? r.en : r.zh}
              {r.points ? (
                <Tag color="red" style={{ marginLeft: 8 }}>
                  {t('supervision.assessments.points', { points: r.points })}
                </Tag>
              ) : null}
            </span>
          </List.Item>
        )}
      />

      <Divider titlePlacement="start">{t('supervision.assessments.history')}</Divider>
      <Timeline
        items={a.events.map((e) => ({
          key: e.id,
          content: (
            <span>
              {formatTime(e.at)} · {t(`supervision.assessments.event.${e.action}`)} ·{' '}
              {e.actorName ?? t('supervision.assessments.platform')}
            </span>
          ),
        }))}
      />

      {canWrite(user) && a.status === 'recommended' && (
        <>
          <Divider titlePlacement="start">{t('supervision.assessments.confirm')}</Divider>
          <Space.Compact style={{ width: '100%' }}>
            <Input
              placeholder={t('supervision.assessments.confirmNote')}
              value={note}
              onChange={(e) => setNote(e.target.value)}
              maxLength={2000}
            />
            <Button
              type="primary"
              loading={decide.isPending}
              data-testid="assessment-confirm"
              onClick={() =>
                void run(
                  { id: a.id, kind: 'confirm', ...(note.trim() ? { note: note.trim() } : {}) },
                  'confirmed',
                )
              }
            >
              {t('supervision.assessments.confirm')}
            </Button>
          </Space.Compact>
          <Divider titlePlacement="start">{t('supervision.assessments.override')}</Divider>
          <Form
            form={form}
            layout="vertical"
            initialValues={{ level: a.recommendedLevel, sanction: a.recommendedSanction }}
            onFinish={(v) =>
              void run({ id: a.id, kind: 'override', ...v, reason: v.reason.trim() }, 'overridden')
            }
          >
            <Space wrap>
              <Form.Item name="level" label={t('supervision.assessments.finalLevel')}>
                <Select
                  style={{ width: 140 }}
                  options={LEVELS.map((l) => ({ value: l, label: t(`level.${l}`) }))}
                />
              </Form.Item>
              <Form.Item name="sanction" label={t('supervision.assessments.finalSanction')}>
                <Select
                  style={{ width: 160 }}
                  options={SANCTIONS.map((s) => ({
                    value: s,
                    label: t(`supervision.assessments.sanction.${s}`),
                  }))}
                />
              </Form.Item>
            </Space>
            <Form.Item
              name="reason"
              label={t('supervision.assessments.overrideReason')}
              rules={[
                {
                  required: true,
                  whitespace: true,
                  message: t('supervision.common.required', {
                    field: t('supervision.common.reason'),
                  }),
                },
              ]}
            >
              <Input.TextArea rows={2} maxLength={2000} />
            </Form.Item>
            <Button htmlType="submit" loading={decide.isPending} data-testid="assessment-override">
              {t('supervision.assessments.override')}
            </Button>
          </Form>
        </>
      )}
    </div>
  );
}

/** A table of assessments with a detail drawer; shared by the page and the subject's tab. */
export function AssessmentsTable({
  items,
  loading,
  showSubject,
}: {
  items: Assessment[];
  loading?: boolean;
  showSubject: boolean;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <Table<Assessment>
        size="small"
        rowKey="id"
        loading={loading ?? false}
        dataSource={items}
        pagination={{ pageSize: 20 }}
        scroll={{ x: true }}
        data-testid="assessments-table"
        onRow={(a) => ({ onClick: () => setOpen(a.id), style: { cursor: 'pointer' } })}
        columns={[
          showSubject
            ? {
                title: t('supervision.common.subject'),
                dataIndex: 'subjectName',
                render: (v: string) => <Typography.Link>{v}</Typography.Link>,
              }
            : {
                title: t('supervision.common.month'),
                dataIndex: 'month',
                render: (v: string) => <Typography.Link>{v}</Typography.Link>,
              },
          {
            title: t('supervision.assessments.score'),
            dataIndex: 'score',
            sorter: (x, y) => x.score - y.score,
            render: (v: number) => (
              <Typography.Text strong type={v < 60 ? 'danger' : undefined}>
                {v}
              </Typography.Text>
            ),
          },
          {
            title: t('supervision.assessments.currentLevel'),
            dataIndex: 'currentLevel',
            render: (v: ManagementLevel) => t(`level.${v}`),
          },
          {
            title: t('supervision.assessments.recommendedLevel'),
            dataIndex: 'recommendedLevel',
            render: (v: ManagementLevel) => t(`level.${v}`),
          },
          {
            title: t('supervision.assessments.recommendedSanction'),
            dataIndex: 'recommendedSanction',
            render: (v: Sanction) => <SanctionTag sanction={v} />,
          },
          {
            title: t('supervision.common.status'),
            dataIndex: 'status',
            render: (v: AssessmentStatus, a) => (
              <Space size={4}>
                <Tag color={ASSESSMENT_STATUS_COLOUR[v]}>
                  {t(`supervision.assessments.status.${v}`)}
                </Tag>
                {a.status === 'overridden' && a.finalSanction && (
                  <SanctionTag sanction={a.finalSanction} />
                )}
              </Space>
            ),
          },
        ]}
      />
      <Drawer
        open={!!open}
        onClose={() => setOpen(null)}
        title={t('supervision.assessments.detail')}
        size={560}
        destroyOnHidden
      >
        {open && <AssessmentDetail id={open} />}
      </Drawer>
    </>
  );
}

export function AssessmentsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const user = useUser();
  const [month, setMonth] = useState(() => dayjs().format('YYYY-MM'));
  const [status, setStatus] = useState<AssessmentStatus | ''>('');
  const [sanction, setSanction] = useState<Sanction | 'any' | ''>('');
  const list = useAssessments({
    month,
    status: status || undefined,
    sanction: sanction || undefined,
  });
  const compute = useComputeAssessments();
  const mayCompute = user.role === 'officer' || user.role === 'bureau' || user.role === 'admin';

  const runCompute = async () => {
    try {
      const s = await compute.mutateAsync({ month });
      void message.success(t('supervision.assessments.computed', { ...s }));
    } catch (e) {
      void message.error(t('supervision.common.failed', { message: errorText(e) }));
    }
  };

  return (
    <div className="ccm-page">
      <Card
        size="small"
        title={t('supervision.assessments.title')}
        extra={
          mayCompute ? (
            <Button
              icon={<CalculatorOutlined />}
              loading={compute.isPending}
              onClick={() => void runCompute()}
              data-testid="assessments-compute"
            >
              {t('supervision.assessments.compute')}
            </Button>
          ) : (
            <Tag>{t('supervision.common.readOnly')}</Tag>
          )
        }
      >
        <Space wrap style={{ marginBottom: 12 }}>
          <MonthPicker month={month} onChange={setMonth} data-testid="assessments-month" />
          <Select<AssessmentStatus | ''>
            value={status}
            onChange={setStatus}
            style={{ width: 150 }}
            options={[
              { value: '', label: t('supervision.common.any') },
              ...(['recommended', 'confirmed', 'overridden'] as const).map((s) => ({
                value: s,
                label: t(`supervision.assessments.status.${s}`),
              })),
            ]}
          />
          <Select<Sanction | 'any' | ''>
            value={sanction}
            onChange={setSanction}
            style={{ width: 170 }}
            options={[
              { value: '', label: t('supervision.common.any') },
              { value: 'any', label: t('supervision.assessments.anySanction') },
              ...SANCTIONS.map((s) => ({
                value: s,
                label: t(`supervision.assessments.sanction.${s}`),
              })),
            ]}
          />
        </Space>
        <QueryState error={list.error} />
        <AssessmentsTable items={list.data?.items ?? []} loading={list.isLoading} showSubject />
      </Card>
    </div>
  );
}
