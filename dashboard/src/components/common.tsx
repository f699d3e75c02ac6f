import { Alert as AntAlert, DatePicker, Spin, Tag } from 'antd';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import type { Severity } from '../api/types';
import { duration } from '../i18n';

export const SEVERITY_COLOUR: Record<Severity, string> = {
  critical: 'magenta',
  high: 'red',
  medium: 'orange',
  low: 'blue',
};

export function SeverityTag({ severity }: { severity: Severity }) {
  const { t } = useTranslation();
  return <Tag color={SEVERITY_COLOUR[severity]}>{t(`severity.${severity}`)}</Tag>;
}

export function LateTag({ lateByMs }: { lateByMs: number }) {
  const { t } = useTranslation();
  return (
    <Tag
      color="purple"
      title={t('alerts.lateHint', { duration: duration(lateByMs) })}
      data-testid="late-tag"
    >
      {t('alerts.lateBy', { duration: duration(lateByMs) })}
    </Tag>
  );
}

/** What to show of a failed request or query: the error's message (the API's is bilingual). */
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Loading and error states of a query, in one line each. */
export function QueryState({ loading, error }: { loading?: boolean; error?: unknown }) {
  const { t } = useTranslation();
  if (error)
    return <AntAlert type="error" showIcon title={t('app.error', { message: errorText(error) })} />;
  if (loading) return <Spin style={{ display: 'block', margin: 24 }} />;
  return null;
}

export const formatTime = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : '—';

/** A month ('YYYY-MM'), this one or one before it (assessments and reports are of the past). */
export function MonthPicker(props: {
  month: string;
  onChange: (month: string) => void;
  'data-testid'?: string;
}) {
  return (
    <DatePicker
      picker="month"
      allowClear={false}
      value={dayjs(`${props.month}-01`)}
      onChange={(d) => d && props.onChange(d.format('YYYY-MM'))}
      disabledDate={(d) => d.isAfter(dayjs(), 'month')}
      data-testid={props['data-testid']}
    />
  );
}
