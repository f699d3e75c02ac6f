import { z } from 'zod';

export const ComponentStatus = z.enum(['up', 'down']);

export const HealthReport = z.object({
  status: z.enum(['ok', 'degraded']).describe('ok when every component is up'),
  version: z.string(),
  uptimeS: z.number(),
  database: z.object({
    status: ComponentStatus,
    kind: z.enum(['pg', 'pglite']).describe('pg: PostgreSQL/TimescaleDB server; pglite: embedded'),
    timescaledb: z.boolean(),
    latencyMs: z.number().nullable(),
    error: z.string().optional(),
  }),
  gateway: z.object({
    status: z.enum(['up', 'down', 'off']).describe('off: gateways run as separate processes'),
    queueDepth: z.number().int().nullable(),
    lagMs: z.number().nullable().describe('age of the oldest received, not yet committed message'),
  }),
  broker: z.object({
    status: ComponentStatus,
    mode: z.enum(['embedded', 'external']),
    error: z.string().optional(),
  }),
});
export type HealthReport = z.infer<typeof HealthReport>;
