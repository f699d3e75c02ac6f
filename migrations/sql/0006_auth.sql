-- Sign-in sessions, login attempts (lockout), and the police partners' position queries.

-- A bearer token is 32 random bytes shown once; only its SHA-256 is stored.
CREATE TABLE sessions (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash   text NOT NULL UNIQUE,
  user_id      uuid NOT NULL REFERENCES users (id),
  -- 'full', or 'totp_enroll' for a user whose role requires a second factor not yet set up
  scope        text NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'totp_enroll')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  last_seen_at timestamptz,
  ip           text,
  user_agent   text
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Five failures in 15 minutes lock the account for a while (users.locked_until).
CREATE TABLE login_attempts (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username  text NOT NULL,
  user_id   uuid REFERENCES users (id),
  at        timestamptz NOT NULL DEFAULT now(),
  success   boolean NOT NULL,
  reason    text,
  ip        text
);
CREATE INDEX login_attempts_username_at ON login_attempts (username, at DESC);

-- 公安协查: every query a police partner makes, with its legal basis and case number.
CREATE TABLE police_queries (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id        uuid NOT NULL REFERENCES users (id),
  subject_id     uuid REFERENCES subjects (id),
  area           jsonb,                 -- GeoJSON area for an area query
  from_at        timestamptz NOT NULL,
  to_at          timestamptz NOT NULL,
  legal_basis    text NOT NULL CHECK (length(legal_basis) BETWEEN 4 AND 2000),
  case_number    text NOT NULL CHECK (length(case_number) BETWEEN 2 AND 100),
  fixes_returned integer NOT NULL DEFAULT 0,
  outcome        text NOT NULL CHECK (outcome IN ('answered', 'refused')),
  refusal_reason text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (to_at > from_at)
);
CREATE INDEX police_queries_user ON police_queries (user_id, created_at DESC);
