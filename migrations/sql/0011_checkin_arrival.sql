-- Check-ins are reviewed by when they arrived, not only by when they were taken: a terminal
-- that was offline for a week uploads its backlog late, and every check-in in it must still
-- be judged (a failed one raises checkin_failed, a match withdraws a checkin_missed).
-- The supervision worker looks at check-ins that arrived in its look-back (7 days), taken
-- in the last 90 (the uncompressed part of the table on TimescaleDB).
CREATE INDEX IF NOT EXISTS checkins_received_at ON checkins (received_at);
