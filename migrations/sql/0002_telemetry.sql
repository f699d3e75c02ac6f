-- Telemetry from devices (shared/contracts/device-mqtt.md). These four tables are time series:
-- migration 0004 turns them into TimescaleDB hypertables when the extension is there.
-- Compact on purpose (see bench/RESULTS.md, storage): integer micro-degrees, decimetres,
-- small-int enums, and the receive time as a lag from the fix time (delta-friendly).

-- One row per (device, fix time): the contract's duplicate rule. Only fixes inside an active
-- monitoring order are stored here (subject_no is the order's subject at fix time).
CREATE TABLE fixes (
  device_no    integer  NOT NULL,
  t            timestamptz NOT NULL,   -- fix time, from the device (UTC)
  subject_no   integer  NOT NULL,
  lat_e6       integer  NOT NULL CHECK (lat_e6 BETWEEN -90000000 AND 90000000),    -- WGS-84 µdeg
  lon_e6       integer  NOT NULL CHECK (lon_e6 BETWEEN -180000000 AND 180000000),  -- WGS-84 µdeg
  acc_dm       integer  NOT NULL CHECK (acc_dm > 0),  -- horizontal accuracy (68 %), decimetres
  src          smallint NOT NULL CHECK (src IN (0, 1, 2)),  -- 0 gnss, 1 lbs, 2 wifi
  spd_cms      smallint,               -- speed, cm/s
  hdg_deg      smallint CHECK (hdg_deg BETWEEN 0 AND 360),
  sat          smallint,
  flags        smallint NOT NULL DEFAULT 0,  -- bit 0 low accuracy, bit 1 arrived late (after newer fixes)
  recv_lag_ms  integer  NOT NULL,      -- receivedAt − t in ms, clamped to the int4 range
  PRIMARY KEY (device_no, t)
);
CREATE INDEX fixes_subject_t ON fixes (subject_no, t DESC);

-- Fixes from the future (> 5 min ahead of receive time) or before 2020: kept, never drive
-- alerts, and kept out of the hypertable so they cannot create absurd chunks.
CREATE TABLE quarantined_fixes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_no    integer NOT NULL,
  subject_no   integer,
  fix_time_ms  bigint  NOT NULL,
  received_at  timestamptz NOT NULL,
  reason       text    NOT NULL CHECK (reason IN ('future', 'before_2020')),
  fix          jsonb   NOT NULL,       -- the fix as received
  UNIQUE (device_no, fix_time_ms)
);

-- Events of the contract; unknown types are stored with known = false, not dropped.
CREATE TABLE device_events (
  device_no    integer  NOT NULL,
  t            timestamptz NOT NULL,
  type         text     NOT NULL CHECK (type ~ '^[a-z0-9_]{1,40}$'),
  subject_no   integer,
  seq          bigint   NOT NULL,
  known        boolean  NOT NULL,
  bat          smallint CHECK (bat BETWEEN 0 AND 100),
  lat_e6       integer,
  lon_e6       integer,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (device_no, t, type)
);

CREATE TABLE heartbeats (
  device_no    integer  NOT NULL,
  t            timestamptz NOT NULL,
  seq          bigint   NOT NULL,
  bat          smallint CHECK (bat BETWEEN 0 AND 100),
  chg          boolean,
  rssi         smallint,
  fw           text,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (device_no, t)
);

-- 信息化核查 results. Only the verifier's result travels; templates and raw audio never do.
CREATE TABLE checkins (
  device_no    integer  NOT NULL,
  t            timestamptz NOT NULL,
  subject_ref  text     NOT NULL,      -- subjectId as the terminal sent it
  subject_no   integer,                -- resolved subject, NULL if unknown
  seq          bigint   NOT NULL,
  method       text     NOT NULL CHECK (method IN ('fingerprint', 'voiceprint', 'face')),
  result       text     NOT NULL CHECK (result IN ('match', 'no_match', 'spoof_suspected')),
  score        real     NOT NULL CHECK (score BETWEEN 0 AND 1),
  liveness     boolean,
  lat_e6       integer,
  lon_e6       integer,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (device_no, t)
);
CREATE INDEX checkins_subject_t ON checkins (subject_no, t DESC);

-- Messages that failed validation: kept (raw bytes up to 64 KiB), counted, acknowledged.
CREATE TABLE rejected_messages (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at  timestamptz NOT NULL DEFAULT now(),
  device_id    text,                   -- as claimed by the topic; may be unknown
  topic        text    NOT NULL,
  reason       text    NOT NULL,       -- stable code: 'invalid_json', 'schema', 'oversize', …
  detail       text    NOT NULL DEFAULT '',
  size_bytes   integer NOT NULL,
  raw          bytea   NOT NULL CHECK (octet_length(raw) <= 65536)
);
CREATE INDEX rejected_messages_device ON rejected_messages (device_id, received_at DESC);

-- Refused connects, publishes and subscribes outside a device's own topics.
CREATE TABLE security_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  client_id    text,
  kind         text NOT NULL,          -- 'connect_refused', 'publish_refused', 'subscribe_refused', 'flood'
  topic        text,
  detail       text NOT NULL DEFAULT ''
);
CREATE INDEX security_events_at ON security_events (at DESC);

-- Current state per device, updated with every committed batch. The latest position never
-- moves backwards: it is replaced only by a fix with a later fix time.
CREATE TABLE device_state (
  device_no      integer PRIMARY KEY REFERENCES devices (no),
  last_seen_at   timestamptz,
  last_seq       bigint,
  acked_seq      bigint,               -- highest seq acknowledged to the device
  seq_gaps       bigint  NOT NULL DEFAULT 0,
  battery        smallint,
  charging       boolean,
  rssi           smallint,
  firmware       text,
  online         boolean NOT NULL DEFAULT false,
  online_changed_at timestamptz,
  last_fix_t     timestamptz,
  last_lat_e6    integer,
  last_lon_e6    integer,
  last_acc_dm    integer,
  last_src       smallint,
  report_interval_s integer NOT NULL DEFAULT 60,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Downlink commands and their results.
CREATE TABLE device_commands (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_id     text NOT NULL REFERENCES devices (id),
  type          text NOT NULL CHECK (type IN ('warn', 'locate', 'set_interval', 'checkin_request')),
  params        jsonb NOT NULL DEFAULT '{}',
  expires_at    timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'done', 'failed', 'rejected', 'expired')),
  created_by    uuid REFERENCES users (id),  -- NULL: raised by the rules engine
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  result_at     timestamptz
);
CREATE INDEX device_commands_device ON device_commands (device_id, created_at DESC);
CREATE INDEX device_commands_pending ON device_commands (created_at) WHERE status = 'pending';
