-- Supervision workflows (issue #9): check-in schedules and requests (信息化核查), the review
-- of every check-in (failed, person–device separation), approved leave (外出审批),
-- notifications to officers (order reminders …), education and community-service hours,
-- monthly assessments (动态考核) and sanctions (训诫 / 警告 / 提请撤销).

-- Where the subject proves presence: the office's terminal or their own phone. Random and
-- scheduled `checkin_request` commands go to this device.
ALTER TABLE subjects ADD COLUMN checkin_device_id text REFERENCES devices (id);

-- Rules that vary by province, as JSON validated by the server's zod schemas. A missing key
-- means the documented defaults in code.
CREATE TABLE supervision_settings (
  key         text PRIMARY KEY CHECK (key IN ('checkins', 'separation', 'assessment')),
  value       jsonb NOT NULL,
  updated_by  uuid REFERENCES users (id),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One check-in the subject owes: a scheduled one per period of their management level, a
-- random one sent to their device, or one an officer asked for. Met by a matching check-in
-- between window_start and due_at; missed (→ alert checkin_missed) when due_at passes.
CREATE TABLE checkin_requests (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_id     uuid NOT NULL REFERENCES subjects (id),
  kind           text NOT NULL CHECK (kind IN ('scheduled', 'random', 'manual')),
  method         text CHECK (method IN ('fingerprint', 'voiceprint', 'face')),  -- NULL = any
  window_start   timestamptz NOT NULL,
  due_at         timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'met', 'missed', 'cancelled')),
  device_id      text REFERENCES devices (id),   -- where the checkin_request command went
  command_id     uuid REFERENCES device_commands (id),
  met_device_no  integer,                        -- the check-in that met it (checkins key)
  met_at         timestamptz,
  alert_id       uuid REFERENCES alerts (id),
  requested_by   uuid REFERENCES users (id),     -- NULL = the platform
  note           text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (due_at > window_start),
  CHECK ((status = 'met') = (met_at IS NOT NULL))
);
-- One scheduled request per subject and period, however many workers run.
CREATE UNIQUE INDEX checkin_requests_scheduled ON checkin_requests (subject_id, window_start)
  WHERE kind = 'scheduled';
CREATE INDEX checkin_requests_pending ON checkin_requests (due_at) WHERE status = 'pending';
CREATE INDEX checkin_requests_subject ON checkin_requests (subject_id, window_start DESC);

-- The platform's review of each check-in, exactly once: which subject, which request it met,
-- and what it showed. `checkins` stays append-only (it is a hypertable on TimescaleDB).
CREATE TABLE checkin_reviews (
  device_no     integer NOT NULL,
  t             timestamptz NOT NULL,
  subject_id    uuid REFERENCES subjects (id),
  outcome       text NOT NULL CHECK (outcome IN ('ok', 'failed', 'separation', 'unknown_subject')),
  request_id    uuid REFERENCES checkin_requests (id),
  distance_m    real,                            -- check-in to wristband, when both were known
  alert_id      uuid REFERENCES alerts (id),
  reviewed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_no, t)
);
CREATE INDEX checkin_reviews_subject ON checkin_reviews (subject_id, t DESC);

-- 外出审批. Up to 7 days the township office approves, longer the county bureau, at most 30
-- days per approval. Approval adds a temporary inclusion zone at the destination (active
-- from starts_at + travel_hours to ends_at − travel_hours) and suspends the subject's county
-- zones for [starts_at, ends_at); after ends_at the county zone applies again, so a subject
-- not back by then raises zone_exit, which the return check links here.
CREATE TABLE leave_requests (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_id           uuid NOT NULL REFERENCES subjects (id),
  jurisdiction_code    text NOT NULL REFERENCES jurisdictions (code),  -- the subject's, for scoping
  destination          text NOT NULL CHECK (length(destination) BETWEEN 1 AND 200),
  destination_geometry jsonb NOT NULL,           -- ZoneGeometry, WGS-84
  reason               text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  starts_at            timestamptz NOT NULL,
  ends_at              timestamptz NOT NULL,
  travel_hours         smallint NOT NULL DEFAULT 12 CHECK (travel_hours BETWEEN 0 AND 72),
  approval_level       text NOT NULL CHECK (approval_level IN ('township', 'county')),
  status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
  requested_by         uuid REFERENCES users (id),
  requested_at         timestamptz NOT NULL DEFAULT now(),
  decided_by           uuid REFERENCES users (id),
  decided_at           timestamptz,
  decision_note        text,
  zone_id              uuid REFERENCES zones (id),
  return_status        text CHECK (return_status IN ('returned', 'not_returned')),
  return_checked_at    timestamptz,
  return_alert_id      uuid REFERENCES alerts (id),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at AND ends_at <= starts_at + interval '30 days'),
  CHECK (approval_level = 'county' OR ends_at <= starts_at + interval '7 days')
);
CREATE INDEX leave_requests_subject ON leave_requests (subject_id, starts_at DESC);
CREATE INDEX leave_requests_scope ON leave_requests (jurisdiction_code, status);
CREATE TRIGGER leave_requests_notify AFTER INSERT OR UPDATE OR DELETE ON leave_requests
  FOR EACH STATEMENT EXECUTE FUNCTION ccm_notify_config();

-- Reminders and notices to one user (order ending in 7 days / 1 day, leave to decide …).
-- dedupe_key makes every reminder at most once, however often the worker runs.
CREATE TABLE notifications (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users (id),
  kind        text NOT NULL CHECK (kind IN (
                'order_expiring', 'order_expired', 'leave_pending', 'leave_decided',
                'leave_not_returned', 'checkin_missed', 'assessment_ready')),
  title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  body        text NOT NULL DEFAULT '',
  subject_id  uuid REFERENCES subjects (id),
  ref_id      text,                              -- order / leave / request id
  dedupe_key  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  read_at     timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);

-- 教育学习 / 公益活动 hours, recorded by officers; they count in the monthly assessment.
CREATE TABLE activity_records (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_id   uuid NOT NULL REFERENCES subjects (id),
  kind         text NOT NULL CHECK (kind IN ('education', 'community_service')),
  occurred_on  date NOT NULL,
  hours        real NOT NULL CHECK (hours > 0 AND hours <= 24),
  note         text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
  recorded_by  uuid REFERENCES users (id),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_records_subject ON activity_records (subject_id, occurred_on);

-- 动态考核: one assessment per subject and month (month = its first day, China time). The
-- platform recommends; an officer confirms or overrides with a reason; every step is kept in
-- assessment_events.
CREATE TABLE assessments (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_id            uuid NOT NULL REFERENCES subjects (id),
  month                 date NOT NULL CHECK (extract(day FROM month) = 1),
  score                 real NOT NULL,
  facts                 jsonb NOT NULL,          -- the counts and rules behind the score
  recommended_level     text NOT NULL CHECK (recommended_level IN ('strict', 'normal', 'lenient')),
  recommended_sanction  text NOT NULL CHECK (recommended_sanction IN ('none', 'admonition', 'warning', 'revocation_request')),
  status                text NOT NULL DEFAULT 'recommended' CHECK (status IN ('recommended', 'confirmed', 'overridden')),
  final_level           text CHECK (final_level IN ('strict', 'normal', 'lenient')),
  final_sanction        text CHECK (final_sanction IN ('none', 'admonition', 'warning', 'revocation_request')),
  decided_by            uuid REFERENCES users (id),
  decided_at            timestamptz,
  decision_reason       text,
  computed_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subject_id, month)
);
CREATE INDEX assessments_month ON assessments (month);

CREATE TABLE assessment_events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  assessment_id  uuid NOT NULL REFERENCES assessments (id),
  at             timestamptz NOT NULL DEFAULT now(),
  actor_id       uuid REFERENCES users (id),    -- NULL = the platform
  action         text NOT NULL CHECK (action IN ('computed', 'recomputed', 'confirmed', 'overridden')),
  data           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX assessment_events_assessment ON assessment_events (assessment_id, id);

-- 考核奖惩: sanctions decided (from an assessment or on their own), the ladder's memory.
CREATE TABLE sanctions (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_id     uuid NOT NULL REFERENCES subjects (id),
  kind           text NOT NULL CHECK (kind IN ('admonition', 'warning', 'revocation_request')),
  decided_at     timestamptz NOT NULL DEFAULT now(),
  decided_by     uuid REFERENCES users (id),
  assessment_id  uuid REFERENCES assessments (id),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000)
);
CREATE INDEX sanctions_subject ON sanctions (subject_id, decided_at);
