import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one gateway; the server exposes them on /metrics. */
export function createGatewayMetrics(registry = new Registry()) {
  return {
    registry,
    messagesIn: new Counter({
      name: 'ccm_gateway_messages_in_total',
      help: 'MQTT messages received, by topic kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    fixesStored: new Counter({
      name: 'ccm_gateway_fixes_stored_total',
      help: 'Fixes committed as positions',
      registers: [registry],
    }),
    fixesDuplicate: new Counter({
      name: 'ccm_gateway_fixes_duplicate_total',
      help: 'Fixes received again (same device and fix time) and ignored',
      registers: [registry],
    }),
    fixesWithoutOrder: new Counter({
      name: 'ccm_gateway_fixes_without_order_total',
      help: 'Fixes acknowledged but not stored: no monitoring order at their time',
      registers: [registry],
    }),
    fixesQuarantined: new Counter({
      name: 'ccm_gateway_fixes_quarantined_total',
      help: 'Fixes from the future or before 2020, kept apart',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'ccm_gateway_rejected_total',
      help: 'Messages rejected, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'ccm_gateway_batch_messages',
      help: 'Messages per committed batch',
      buckets: [1, 10, 50, 100, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'ccm_gateway_commit_seconds',
      help: 'Time to commit one batch',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    commitFailures: new Counter({
      name: 'ccm_gateway_commit_failures_total',
      help: 'Failed commit attempts (retried)',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'ccm_gateway_queue_depth',
      help: 'Messages received and not yet committed',
      registers: [registry],
    }),
    stageErrors: new Counter({
      name: 'ccm_gateway_stage_errors_total',
      help: 'Contained failures of a pipeline stage',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
