-- Plain PostgreSQL variant (no timescaledb extension). Same names, same columns, so every
-- query works on both: the per-subject daily summary is an ordinary view here.
-- BRIN indexes keep time-range scans cheap on append-mostly tables.

CREATE INDEX fixes_t_brin ON fixes USING brin (t);
CREATE INDEX device_events_t_brin ON device_events USING brin (t);
CREATE INDEX heartbeats_t_brin ON heartbeats USING brin (t);
CREATE INDEX checkins_t ON checkins (t);

CREATE VIEW subject_daily AS
SELECT
  subject_no,
  date_trunc('day', t, 'Asia/Shanghai')     AS day,
  count(*)                                  AS fixes,
  count(*) FILTER (WHERE src = 0)           AS gnss_fixes,
  count(*) FILTER (WHERE flags & 1 = 1)     AS low_accuracy_fixes,
  min(t)                                    AS first_fix_at,
  max(t)                                    AS last_fix_at,
  avg(acc_dm) / 10.0                        AS avg_accuracy_m
FROM fixes
GROUP BY subject_no, date_trunc('day', t, 'Asia/Shanghai');
