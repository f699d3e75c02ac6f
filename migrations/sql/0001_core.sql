-- CCM core schema: organisations, people, devices, legal orders, zones.
-- Forward-only: never edit an applied migration; add a new numbered file instead.
-- Identifiers are uuid strings on the API; subjects and devices also carry a small integer
-- `no` that the time-series tables use, because 4 bytes per row matter at 12,000 fixes/s.

-- 司法行政区划: province → city → county/district → township office (司法所).
-- GB/T 2260 six-digit codes for administrative areas; nine digits for township offices.
CREATE TABLE jurisdictions (
  code        text PRIMARY KEY CHECK (code ~ '^[0-9]{6}([0-9]{3})?$'),
  parent_code text REFERENCES jurisdictions (code),
  level       text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
  name_zh     text NOT NULL CHECK (length(name_zh) BETWEEN 1 AND 100),
  name_en     text NOT NULL DEFAULT '' CHECK (length(name_en) <= 100),
  -- Dotted chain of codes from the root ('450000.450100.450103'): "this node and below"
  -- is `path = $1 OR path LIKE $1 || '.%'`, an index range scan.
  path        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((parent_code IS NULL) = (level = 'province'))
);
CREATE INDEX jurisdictions_path_prefix ON jurisdictions (path text_pattern_ops);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_code);

CREATE TABLE users (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username            text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{3,64}$'),
  display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  role                text NOT NULL CHECK (role IN ('admin', 'bureau', 'officer', 'police', 'auditor')),
  jurisdiction_code   text NOT NULL REFERENCES jurisdictions (code),
  password_hash       text NOT NULL,                 -- argon2id PHC string
  totp_secret         text,                          -- base32; NULL = no second factor
  totp_enabled        boolean NOT NULL DEFAULT false,
  disabled            boolean NOT NULL DEFAULT false,
  locked_until        timestamptz,                   -- set after repeated failed logins
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_jurisdiction ON users (jurisdiction_code);

-- 社区矫正对象. Criminal-record data: every read is scoped and ID numbers are masked on output.
CREATE TABLE subjects (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  no                 integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  id_card_no         text NOT NULL UNIQUE CHECK (id_card_no ~ '^[0-9]{17}[0-9X]$'),
  gender             text CHECK (gender IN ('male', 'female')),
  birth_date         date,
  -- 管制 / 缓刑 / 假释 / 暂予监外执行
  correction_type    text NOT NULL CHECK (correction_type IN ('control', 'probation', 'parole', 'temporary_outside')),
  term_start         date NOT NULL,
  term_end           date NOT NULL,
  jurisdiction_code  text NOT NULL REFERENCES jurisdictions (code),
  -- 严管 / 普管 / 宽管
  management_level   text NOT NULL DEFAULT 'strict' CHECK (management_level IN ('strict', 'normal', 'lenient')),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'absconded', 'suspended', 'ended')),
  officer_id         uuid REFERENCES users (id),
  home_address       text NOT NULL DEFAULT '',
  phone              text NOT NULL DEFAULT '',
  -- Reporting interval the devices of this subject are asked to keep, seconds.
  report_interval_s  integer NOT NULL DEFAULT 60 CHECK (report_interval_s BETWEEN 5 AND 3600),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (term_end >= term_start)
);
CREATE INDEX subjects_jurisdiction ON subjects (jurisdiction_code);

CREATE TABLE devices (
  id                text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{3,64}$'),  -- MQTT clientId = username
  no                integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  kind              text NOT NULL CHECK (kind IN ('wristband', 'terminal', 'phone')),
  secret_hash       text NOT NULL,                 -- hash of the MQTT password; the secret is shown once
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'retired')),
  jurisdiction_code text NOT NULL REFERENCES jurisdictions (code),
  vendor            text NOT NULL DEFAULT '',
  model             text NOT NULL DEFAULT '',
  secret_rotated_at timestamptz NOT NULL DEFAULT now(),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_jurisdiction ON devices (jurisdiction_code);

-- 电子定位 order (Community Corrections Law Art. 29). A subject's positions exist only inside
-- [starts_at, coalesce(ended_at, ends_at)) of one of their orders.
CREATE TABLE monitoring_orders (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subject_id       uuid NOT NULL REFERENCES subjects (id),
  device_id        text NOT NULL REFERENCES devices (id),
  legal_ground     text NOT NULL CHECK (legal_ground IN (
                     'prohibition_order_violation',  -- 违反人民法院禁止令
                     'left_without_approval',        -- 无正当理由未经批准离开所居住的市、县
                     'warned_refusing_report',       -- 拒不按规定报告活动情况，被给予警告
                     'public_security_penalty',      -- 违反监督管理规定，被给予治安管理处罚
                     'pending_revocation'            -- 拟提请撤销缓刑、假释或暂予监外执行收监执行
                   )),
  ground_detail    text NOT NULL DEFAULT '',
  decision_no      text NOT NULL DEFAULT '',       -- 审批文书编号
  approver_name    text NOT NULL CHECK (length(approver_name) BETWEEN 1 AND 100),
  approver_id      uuid REFERENCES users (id),
  approved_at      timestamptz NOT NULL,
  starts_at        timestamptz NOT NULL,
  initial_ends_at  timestamptz NOT NULL,
  ends_at          timestamptz NOT NULL,           -- moves only by approved extensions
  ended_at         timestamptz,                    -- early end ("no longer needed") or expiry
  end_reason       text,
  created_by       uuid REFERENCES users (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (initial_ends_at > starts_at AND initial_ends_at <= starts_at + interval '3 months'),
  CHECK (ends_at >= initial_ends_at),
  CHECK (ended_at IS NULL OR ended_at >= starts_at)
);
CREATE INDEX monitoring_orders_subject ON monitoring_orders (subject_id, starts_at);
CREATE INDEX monitoring_orders_device ON monitoring_orders (device_id, starts_at);

CREATE TABLE monitoring_order_extensions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id         uuid NOT NULL REFERENCES monitoring_orders (id),
  previous_ends_at timestamptz NOT NULL,
  new_ends_at      timestamptz NOT NULL,
  reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_by     uuid REFERENCES users (id),
  requested_at     timestamptz NOT NULL DEFAULT now(),
  decided_by       uuid REFERENCES users (id),
  decided_at       timestamptz,
  decision_note    text,
  -- Each extension needs its own approval and is at most 3 months.
  CHECK (new_ends_at > previous_ends_at AND new_ends_at <= previous_ends_at + interval '3 months')
);
CREATE INDEX monitoring_order_extensions_order ON monitoring_order_extensions (order_id);

-- 电子围栏. geometry is a ZoneGeometry (GeoJSON Polygon/MultiPolygon, or a Circle with
-- center [lon, lat] and radiusM), always WGS-84. The bbox columns let the gateway load only
-- zones near a region and keep the engine's R-tree small.
CREATE TABLE zones (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind              text NOT NULL CHECK (kind IN ('inclusion', 'exclusion')),
  purpose           text NOT NULL DEFAULT 'other' CHECK (purpose IN ('county', 'curfew', 'prohibited', 'border', 'leave', 'other')),
  geometry          jsonb NOT NULL,
  min_lon           double precision NOT NULL,
  min_lat           double precision NOT NULL,
  max_lon           double precision NOT NULL,
  max_lat           double precision NOT NULL,
  buffer_m          real NOT NULL DEFAULT 0 CHECK (buffer_m >= 0),
  schedule          jsonb,                         -- WeeklySchedule; NULL = always active
  confirm_fixes     smallint CHECK (confirm_fixes BETWEEN 1 AND 20),      -- NULL = engine default
  confirm_seconds   integer CHECK (confirm_seconds BETWEEN 0 AND 3600),  -- NULL = engine default
  jurisdiction_code text NOT NULL REFERENCES jurisdictions (code),
  subject_id        uuid REFERENCES subjects (id), -- set for a zone of one subject (a victim's home)
  active            boolean NOT NULL DEFAULT true,
  version           integer NOT NULL DEFAULT 1,
  created_by        uuid REFERENCES users (id),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (min_lon <= max_lon AND min_lat <= max_lat)
);
CREATE INDEX zones_jurisdiction ON zones (jurisdiction_code);
CREATE INDEX zones_subject ON zones (subject_id) WHERE subject_id IS NOT NULL;

CREATE TABLE zone_assignments (
  subject_id        uuid NOT NULL REFERENCES subjects (id),
  zone_id           uuid NOT NULL REFERENCES zones (id),
  schedule_override jsonb,                         -- WeeklySchedule replacing the zone's own
  valid_from        timestamptz,
  valid_to          timestamptz,
  created_by        uuid REFERENCES users (id),
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject_id, zone_id),
  CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from)
);
CREATE INDEX zone_assignments_zone ON zone_assignments (zone_id);
