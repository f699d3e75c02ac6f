-- Engine state carries a version, bumped on every write: a gateway reloads a subject's state
-- when another writer (the silence check, another gateway after a re-hash) changed it, and
-- the silence check writes only if the state is still the one it read (compare-and-set).
ALTER TABLE engine_state ADD COLUMN version bigint NOT NULL DEFAULT 0;
