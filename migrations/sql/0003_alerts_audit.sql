-- Alerts with their history, the outbox that delivers them, and the audit trail.

CREATE TABLE alerts (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type              text NOT NULL CHECK (type IN (
                      'zone_exit', 'zone_enter', 'curfew', 'strap_tamper', 'case_tamper',
                      'battery_low', 'battery_critical', 'power_off', 'no_signal', 'no_location',
                      'gnss_jamming', 'checkin_missed', 'checkin_failed', 'device_separation', 'sos')),
  severity          text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
  subject_id        uuid REFERENCES subjects (id),
  device_id         text REFERENCES devices (id),
  zone_id           uuid REFERENCES zones (id),
  jurisdiction_code text NOT NULL REFERENCES jurisdictions (code),  -- copied for scoping
  -- Identity of a violation: subject (or device) / type / zone. One violation is one alert.
  dedupe_key        text NOT NULL,
  started_at        timestamptz NOT NULL,      -- when the violation began (fix time)
  ended_at          timestamptz,               -- when it ended; NULL while it continues
  raised_at         timestamptz NOT NULL DEFAULT now(),
  late              boolean NOT NULL DEFAULT false,
  late_by_ms        bigint  NOT NULL DEFAULT 0,
  lat               double precision,
  lon               double precision,
  evidence          jsonb   NOT NULL DEFAULT '{}',
  assigned_to       uuid REFERENCES users (id),
  acknowledged_at   timestamptz,
  acknowledged_by   uuid REFERENCES users (id),
  resolved_at       timestamptz,
  resolved_by       uuid REFERENCES users (id),
  resolution        text,                      -- reason code, e.g. 'confirmed_violation', 'false_alarm'
  escalated_at      timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (subject_id IS NOT NULL OR device_id IS NOT NULL),
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- While a violation continues no second alert of the same subject/type/zone is opened…
CREATE UNIQUE INDEX alerts_one_open_violation ON alerts (dedupe_key) WHERE ended_at IS NULL;
-- …and replaying the same fixes never raises the same episode twice.
CREATE UNIQUE INDEX alerts_episode ON alerts (dedupe_key, started_at);
CREATE INDEX alerts_scope ON alerts (jurisdiction_code, status, raised_at DESC);
CREATE INDEX alerts_subject ON alerts (subject_id, raised_at DESC);

-- Every change of an alert, notes included: who (NULL = the platform) and when.
CREATE TABLE alert_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id   uuid NOT NULL REFERENCES alerts (id),
  at         timestamptz NOT NULL DEFAULT now(),
  actor_id   uuid REFERENCES users (id),
  action     text NOT NULL CHECK (action IN ('raised', 'ended', 'acknowledged', 'assigned', 'note', 'resolved', 'escalated', 'reopened')),
  note       text,
  data       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- Transactional outbox: written in the same transaction as the rows that caused it, then
-- delivered (live stream, device commands) and marked. Nothing committed is lost in between.
CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic        text NOT NULL,          -- 'alert', 'alert_update', 'command', …
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;

-- Append-only audit trail, hash-chained: hash = sha256(prev_hash || canonical entry).
-- The chain is computed by the application (one writer at a time, under an advisory lock)
-- and verified by /api/v1/audit/verify.
CREATE TABLE audit_log (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at                timestamptz NOT NULL DEFAULT now(),
  actor_id          uuid,
  actor_username    text,
  actor_role        text,
  action            text NOT NULL,     -- 'auth.login', 'subject.update', 'positions.read', …
  resource_type     text,
  resource_id       text,
  jurisdiction_code text,
  detail            jsonb NOT NULL DEFAULT '{}',
  ip                text,
  prev_hash         text NOT NULL,     -- hex sha256 of the previous entry ('' × 64 zeros for the first)
  hash              text NOT NULL UNIQUE
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at DESC);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);

-- No role, the application's included, may change or remove an audit entry.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
