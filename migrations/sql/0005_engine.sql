-- The rules engine in the gateway: its per-subject state, the engine's stable alert key,
-- and a notification when anything it depends on changes.

-- Per-subject engine state (JSON, versioned by @ccm/geofence), saved with every batch so a
-- gateway restart neither forgets an open violation nor raises it twice.
CREATE TABLE engine_state (
  subject_no  integer PRIMARY KEY REFERENCES subjects (no),
  state       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The engine names each violation episode with a key that never changes, even when late
-- fixes move its start: corrections and ends find their alert by it.
ALTER TABLE alerts ADD COLUMN engine_key text;
CREATE UNIQUE INDEX alerts_engine_key ON alerts (engine_key) WHERE engine_key IS NOT NULL;

-- Late fixes can correct an episode ('updated') or show it never met the rules ('withdrawn').
ALTER TABLE alert_events DROP CONSTRAINT alert_events_action_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_action_check CHECK (action IN (
  'raised', 'ended', 'acknowledged', 'assigned', 'note', 'resolved', 'escalated', 'reopened',
  'updated', 'withdrawn'));

-- Zones, assignments, orders and devices changed by anyone (API, SQL console) reach every
-- gateway within a second: they LISTEN on ccm_config and reload what changed.
CREATE FUNCTION ccm_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ccm_config', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;
CREATE TRIGGER zones_notify AFTER INSERT OR UPDATE OR DELETE ON zones
  FOR EACH STATEMENT EXECUTE FUNCTION ccm_notify_config();
CREATE TRIGGER zone_assignments_notify AFTER INSERT OR UPDATE OR DELETE ON zone_assignments
  FOR EACH STATEMENT EXECUTE FUNCTION ccm_notify_config();
CREATE TRIGGER monitoring_orders_notify AFTER INSERT OR UPDATE OR DELETE ON monitoring_orders
  FOR EACH STATEMENT EXECUTE FUNCTION ccm_notify_config();
CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE OR DELETE ON devices
  FOR EACH STATEMENT EXECUTE FUNCTION ccm_notify_config();
CREATE TRIGGER subjects_notify AFTER UPDATE ON subjects
  FOR EACH STATEMENT EXECUTE FUNCTION ccm_notify_config();
