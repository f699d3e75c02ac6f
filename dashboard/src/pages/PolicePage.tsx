import {
  Alert as AntAlert,
  Button,
  Card,
  Col,
  DatePicker,
  Form,
  Input,
  Row,
  Select,
  Table,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { usePoliceQuery, usePoliceSubjects } from '../api/queries';
import type { PoliceQueryResult } from '../api/types';
import { formatTime } from '../components/common';
import { MapView } from '../map/MapView';
import { FixesLayer } from '../map/layers';

interface QueryForm {
  subjectId: string;
  window: [Dayjs, Dayjs];
  legalBasis: string;
  caseNumber: string;
}

/**
 * The police partner's whole view: find a subject (name fragment or full ID number), state
 * the legal basis and case number, and see the positions inside monitoring orders on a map.
 */
export function PolicePage() {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const subjects = usePoliceSubjects(search);
  const query = usePoliceQuery();
  const [result, setResult] = useState<PoliceQueryResult | null>(null);
  const history = useQuery({
    queryKey: ['police', 'queries', result?.id],
    queryFn: () =>
      api<{
        items: {
          id: string;
          subjectName: string;
          caseNumber: string;
          createdAt: string;
          outcome: string;
          fixesReturned: number;
        }[];
      }>('/police/position-queries', { query: { limit: 10 } }),
  });

  const submit = async (v: QueryForm) => {
    setResult(null);
    try {
      setResult(
        await query.mutateAsync({
          subjectId: v.subjectId,
          from: v.window[0].toISOString(),
          to: v.window[1].toISOString(),
          legalBasis: v.legalBasis.trim(),
          caseNumber: v.caseNumber.trim(),
        }),
      );
    } catch {
      // shown below from query.error
    } finally {
      void history.refetch();
    }
  };

  return (
    <div className="ccm-page" data-testid="police-page">
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={9}>
          <Card size="small" title={t('police.title')}>
            <Typography.Paragraph type="secondary">{t('police.intro')}</Typography.Paragraph>
            <Form<QueryForm>
              layout="vertical"
              onFinish={(v) => void submit(v)}
              initialValues={{ window: [dayjs().subtract(24, 'hour'), dayjs()] }}
            >
              <Form.Item name="subjectId" label={t('police.subject')} rules={[{ required: true }]}>
                <Select
                  showSearch
                  filterOption={false}
                  onSearch={setSearch}
                  placeholder={t('police.subjectPlaceholder')}
                  loading={subjects.isFetching}
                  options={(subjects.data?.items ?? []).map((s) => ({
                    value: s.id,
                    label: `${s.name} · ${s.idCardNoMasked} · ${s.jurisdictionName}`,
                  }))}
                  data-testid="police-subject"
                />
              </Form.Item>
              <Form.Item name="window" label={t('police.window')} rules={[{ required: true }]}>
                <DatePicker.RangePicker showTime style={{ width: '100%' }} />
              </Form.Item>
              <Form.Item
                name="legalBasis"
                label={t('police.legalBasis')}
                rules={[{ required: true, whitespace: true }]}
              >
                <Input placeholder={t('police.legalBasisPlaceholder')} data-testid="police-basis" />
              </Form.Item>
              <Form.Item
                name="caseNumber"
                label={t('police.caseNumber')}
                rules={[{ required: true, whitespace: true }]}
              >
                <Input data-testid="police-case" />
              </Form.Item>
              <Button
                type="primary"
                htmlType="submit"
                loading={query.isPending}
                data-testid="police-submit"
              >
                {t('police.submit')}
              </Button>
            </Form>
            {query.error && (
              <AntAlert
                type="error"
                showIcon
                style={{ marginTop: 12 }}
                title={t('police.refused', { message: (query.error as Error).message })}
              />
            )}
          </Card>
          <Card size="small" title={t('police.history')} style={{ marginTop: 16 }}>
            <Table
              size="small"
              rowKey="id"
              pagination={false}
              dataSource={history.data?.items ?? []}
              columns={[
                { title: t('police.subject'), dataIndex: 'subjectName' },
                { title: t('police.caseNumber'), dataIndex: 'caseNumber' },
                { title: t('police.queriedAt'), dataIndex: 'createdAt', render: formatTime },
                { title: t('police.fixes'), dataIndex: 'fixesReturned' },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} lg={15}>
          {result && (
            <Typography.Paragraph data-testid="police-result">
              {result.points.length
                ? t('police.result', { count: result.fixesReturned })
                : t('police.none')}
            </Typography.Paragraph>
          )}
          <MapView style={{ height: 'calc(100vh - 150px)', minHeight: 360 }} testId="police-map">
            {result && result.points.length > 0 && (
              <FixesLayer id="police" points={result.points} fit />
            )}
          </MapView>
        </Col>
      </Row>
    </div>
  );
}
