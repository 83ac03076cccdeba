-- KPI framework: definitions (central or a unit's local addition), their names in every
-- tenant language, and targets per unit and period that inherit down the unit tree.

-- scope_unit_id NULL: a central KPI (HQ defines it, it applies everywhere); otherwise a
-- local addition that applies to that unit's subtree. Bounds limit local target
-- overrides: absolute (min_value / max_value) and/or relative to the target at the top of
-- the KPI's scope (max_deviation_pct, in percent of it).
CREATE TABLE kpi_definition (
    id bigserial PRIMARY KEY,
    key varchar(64) NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]*$'),
    scope_unit_id bigint REFERENCES unit (id) ON DELETE RESTRICT,
    level varchar(16) NOT NULL CHECK (level IN ('central', 'local', 'campaign')),
    unit_of_measure varchar(16) NOT NULL
        CHECK (unit_of_measure IN ('count', 'percent', 'currency', 'ratio', 'score', 'days')),
    direction varchar(8) NOT NULL CHECK (direction IN ('higher', 'lower')),
    owner_role varchar(20) NOT NULL,
    measurement text NOT NULL DEFAULT '',
    mandatory boolean NOT NULL DEFAULT false,
    min_value numeric,
    max_value numeric,
    max_deviation_pct numeric CHECK (max_deviation_pct IS NULL OR max_deviation_pct >= 0),
    archived_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (min_value IS NULL OR max_value IS NULL OR min_value <= max_value)
);
-- A key is unique per scope (all central KPIs share the scope "central").
CREATE UNIQUE INDEX kpi_definition_key_scope ON kpi_definition (key, coalesce(scope_unit_id, 0));
CREATE INDEX kpi_definition_scope ON kpi_definition (scope_unit_id);

CREATE TABLE kpi_translation (
    kpi_id bigint NOT NULL REFERENCES kpi_definition (id) ON DELETE CASCADE,
    locale varchar(10) NOT NULL,
    name varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    description text NOT NULL DEFAULT '',
    PRIMARY KEY (kpi_id, locale)
);

-- period: 'current', a year ('2027'), a half ('2027-H1'), a quarter ('2027-Q3') or a
-- month ('2027-05'). The target at the top of a KPI's scope is its central target.
CREATE TABLE kpi_target (
    id bigserial PRIMARY KEY,
    kpi_id bigint NOT NULL REFERENCES kpi_definition (id) ON DELETE CASCADE,
    unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    period varchar(16) NOT NULL DEFAULT 'current',
    value numeric NOT NULL,
    set_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    note varchar(500) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kpi_id, unit_id, period)
);
CREATE INDEX kpi_target_unit ON kpi_target (unit_id);
