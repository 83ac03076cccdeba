-- PDF maturity reports: requests with their progress, the rendered files, share links
-- for stakeholders without an account, and every download.

CREATE TABLE report (
    id bigserial PRIMARY KEY,
    assessment_id bigint NOT NULL REFERENCES assessment (id) ON DELETE CASCADE,
    -- The subtree the report covers; none: the whole organisation in the assessment.
    scope_unit_id bigint REFERENCES unit (id) ON DELETE CASCADE,
    locale varchar(10) NOT NULL,
    timezone varchar(64) NOT NULL DEFAULT 'UTC',
    audience varchar(8) NOT NULL CHECK (audience IN ('board', 'full')),
    -- SHA-256 of everything the document is made from: asking again while it is
    -- unchanged returns this report instead of rendering another.
    fingerprint char(64) NOT NULL,
    status varchar(12) NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'collecting', 'rendering', 'ready', 'failed')),
    error text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 0,
    requested_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    requested_label varchar(320) NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    page_count integer,
    size_bytes integer
);
CREATE INDEX report_assessment ON report (assessment_id, id DESC);
CREATE INDEX report_pending ON report (status) WHERE status IN ('queued', 'collecting', 'rendering');
CREATE UNIQUE INDEX report_fingerprint_live ON report (fingerprint) WHERE status <> 'failed';

-- The PDF itself, apart from the request row so lists stay light.
CREATE TABLE report_file (
    report_id bigint PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    content bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A link sent by e-mail that opens the report without an account; it expires and can be
-- revoked. Only the token's SHA-256 is stored.
CREATE TABLE report_share (
    id bigserial PRIMARY KEY,
    report_id bigint NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    email varchar(320) NOT NULL,
    token_hash char(64) NOT NULL UNIQUE,
    message text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    created_label varchar(320) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_share_report ON report_share (report_id);
CREATE INDEX report_share_email ON report_share (lower(email));

-- Every download: through a share link (share_id) or signed in (user_id).
CREATE TABLE report_download (
    id bigserial PRIMARY KEY,
    report_id bigint NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    share_id bigint REFERENCES report_share (id) ON DELETE SET NULL,
    user_id bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    ip varchar(64),
    user_agent varchar(400) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_download_report ON report_download (report_id, id DESC);

-- The organisation's look on reports (cover logo and accent colour); one row at most.
CREATE TABLE branding (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    logo bytea CHECK (logo IS NULL OR length(logo) <= 1048576),
    logo_media_type varchar(40)
        CHECK (logo_media_type IS NULL OR logo_media_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
    accent_colour char(7) CHECK (accent_colour IS NULL OR accent_colour ~ '^#[0-9a-f]{6}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
