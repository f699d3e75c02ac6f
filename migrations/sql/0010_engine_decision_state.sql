-- Engine state written as decisions (issue #8). `state` now holds the subject's decision
-- state (@ccm/geofence `decisionOf`: zone tracks with open violations and confirmation
-- evidence, the window's base, alert records, the commanded interval), rewritten only when
-- one of those changes; the fix window is read back from `fixes` (every fix the engine
-- takes is committed there in the same transaction). `progress` holds what moves with every
-- message (the engine's clock, last message and fix times, the device rules' end signals):
-- a few numbers, written with every batch together with the version bump.
-- Rows written before this migration keep a whole state in `state` and no `progress`; the
-- gateway reads both and writes the new form on the subject's next batch.
ALTER TABLE engine_state ADD COLUMN progress jsonb;
