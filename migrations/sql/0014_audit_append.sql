-- Appending to the audit chain in one round trip.
--
-- The chain has one writer at a time (hash = sha256(prev_hash || '\n' || canonical entry)).
-- The application used to take the advisory lock, read the last hash, insert and commit in
-- four round trips, holding the lock across all of them: every audited read (positions,
-- tracks, police queries) queued behind it, and the benchmark's API requests spent 100 ms
-- of their 170 ms waiting for the lock. Here the lock, the read and the insert are one call;
-- a caller outside a transaction commits it at once, so the lock is held for the insert and
-- its commit only. Each statement of this VOLATILE function takes a new snapshot, so the read
-- after the lock sees the entry of the writer that held it before.
--
-- The application still builds the canonical JSON (the one definition, which verification
-- recomputes): everything but `at`, as the text before and after `at`'s value. `at` is taken
-- under the lock, so entries are in time order along the chain, to the millisecond the JSON
-- holds (the format of JavaScript's toISOString).
CREATE FUNCTION audit_append(
  p_actor_id uuid,
  p_actor_username text,
  p_actor_role text,
  p_action text,
  p_resource_type text,
  p_resource_id text,
  p_jurisdiction_code text,
  p_detail jsonb,
  p_ip text,
  p_canonical_head text,
  p_canonical_tail text
) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  prev text;
  at_ms timestamptz;
  new_id bigint;
BEGIN
  -- The same key as the application's earlier appends (any constant shared by all writers).
  PERFORM pg_advisory_xact_lock(7402554);
  SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
  prev := coalesce(prev, repeat('0', 64));
  at_ms := date_trunc('milliseconds', clock_timestamp());
  INSERT INTO audit_log (at, actor_id, actor_username, actor_role, action, resource_type,
    resource_id, jurisdiction_code, detail, ip, prev_hash, hash)
  VALUES (at_ms, p_actor_id, p_actor_username, p_actor_role, p_action, p_resource_type,
    p_resource_id, p_jurisdiction_code, p_detail, p_ip, prev,
    encode(sha256(convert_to(
      prev || E'\n' || p_canonical_head
        || to_char(at_ms AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || p_canonical_tail,
      'UTF8')), 'hex'))
  RETURNING id INTO new_id;
  RETURN new_id;
END;
$$;
