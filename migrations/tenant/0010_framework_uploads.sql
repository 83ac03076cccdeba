-- Frameworks consultants upload for this tenant. An upload is a row of
-- assessment_framework like a snapshot of a built-in file, with who uploaded it and when;
-- withdrawing it only stops new assessments from choosing it (running ones keep it).
ALTER TABLE assessment_framework
    ADD COLUMN uploaded_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    ADD COLUMN uploaded_at timestamptz,
    ADD COLUMN withdrawn_at timestamptz;

CREATE INDEX assessment_framework_key_version ON assessment_framework (framework_key, version);
