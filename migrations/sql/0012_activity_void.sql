-- An activity record entered wrongly (wrong day, wrong hours, wrong subject) is voided with a
-- reason, never deleted: it stays on record, stops counting in the assessment, and the right
-- one is recorded anew. Voiding is refused once the month's assessment is confirmed.
ALTER TABLE activity_records ADD COLUMN IF NOT EXISTS voided_at timestamptz;
ALTER TABLE activity_records ADD COLUMN IF NOT EXISTS voided_by uuid REFERENCES users (id);
ALTER TABLE activity_records ADD COLUMN IF NOT EXISTS void_reason text
  CHECK (void_reason IS NULL OR length(void_reason) BETWEEN 2 AND 500);
ALTER TABLE activity_records DROP CONSTRAINT IF EXISTS activity_records_voided_complete;
ALTER TABLE activity_records ADD CONSTRAINT activity_records_voided_complete
  CHECK ((voided_at IS NULL) = (void_reason IS NULL));
