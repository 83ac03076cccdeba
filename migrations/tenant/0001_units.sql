-- Organisation units: HQ at the root, then regions, countries, business units, brands, teams.
-- path is the materialised path of ids ("/1/4/9/"): a subtree is one prefix scan.
CREATE TABLE unit (
    id bigserial PRIMARY KEY,
    code varchar(32) NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]*$'),
    name varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    kind varchar(20) NOT NULL
        CHECK (kind IN ('hq', 'region', 'country', 'business_unit', 'brand', 'team')),
    parent_id bigint REFERENCES unit (id) ON DELETE RESTRICT,
    path text NOT NULL UNIQUE,
    depth integer NOT NULL DEFAULT 0,
    position integer NOT NULL DEFAULT 0,
    locale varchar(10) NOT NULL DEFAULT 'en',
    timezone varchar(64) NOT NULL DEFAULT 'UTC',
    currency char(3) NOT NULL DEFAULT 'EUR',
    archived_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((parent_id IS NULL) = (kind = 'hq'))
);
CREATE INDEX unit_path_prefix ON unit (path text_pattern_ops);
CREATE INDEX unit_parent ON unit (parent_id, position);
CREATE UNIQUE INDEX unit_single_root ON unit ((parent_id IS NULL)) WHERE parent_id IS NULL;
