-- TimescaleDB variant (chosen by the runner when the timescaledb extension is installed).
-- Hypertables partitioned by fix time, compressed per device, with a retention policy and a
-- per-subject daily summary. Policy intervals are defaults: the platform re-applies them from
-- CCM_COMPRESS_AFTER_DAYS / CCM_RETENTION_DAYS at start-up.

SELECT create_hypertable('fixes', 't', chunk_time_interval => interval '1 day', migrate_data => true, if_not_exists => true);
SELECT create_hypertable('device_events', 't', chunk_time_interval => interval '7 days', migrate_data => true, if_not_exists => true);
SELECT create_hypertable('heartbeats', 't', chunk_time_interval => interval '7 days', migrate_data => true, if_not_exists => true);
SELECT create_hypertable('checkins', 't', chunk_time_interval => interval '30 days', migrate_data => true, if_not_exists => true);

-- Segment by device: a compressed batch holds one device's fixes in time order, so
-- delta-of-delta on t and the coordinates stays tiny.
ALTER TABLE fixes SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_no', timescaledb.compress_orderby = 't');
ALTER TABLE device_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_no', timescaledb.compress_orderby = 't');
ALTER TABLE heartbeats SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_no', timescaledb.compress_orderby = 't');
ALTER TABLE checkins SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_no', timescaledb.compress_orderby = 't');

SELECT add_compression_policy('fixes', interval '7 days', if_not_exists => true);
SELECT add_compression_policy('device_events', interval '30 days', if_not_exists => true);
SELECT add_compression_policy('heartbeats', interval '7 days', if_not_exists => true);
SELECT add_compression_policy('checkins', interval '90 days', if_not_exists => true);

SELECT add_retention_policy('fixes', interval '730 days', if_not_exists => true);
SELECT add_retention_policy('heartbeats', interval '180 days', if_not_exists => true);

-- Per-subject daily summary, days in China Standard Time (the offices' working day).
CREATE MATERIALIZED VIEW subject_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
  subject_no,
  time_bucket(interval '1 day', t, 'Asia/Shanghai') AS day,
  count(*)                                  AS fixes,
  count(*) FILTER (WHERE src = 0)           AS gnss_fixes,
  count(*) FILTER (WHERE flags & 1 = 1)     AS low_accuracy_fixes,
  min(t)                                    AS first_fix_at,
  max(t)                                    AS last_fix_at,
  avg(acc_dm) / 10.0                        AS avg_accuracy_m
FROM fixes
GROUP BY subject_no, time_bucket(interval '1 day', t, 'Asia/Shanghai')
WITH NO DATA;

SELECT add_continuous_aggregate_policy('subject_daily',
  start_offset => interval '3 days', end_offset => interval '1 hour',
  schedule_interval => interval '1 hour', if_not_exists => true);
