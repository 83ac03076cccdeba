-- Rollout plan (the whitepaper's five stages per unit), the setup wizard's explicit
-- choices and the tenant's own names for unit kinds.

-- The stage each unit is in now; a unit without a row is in stage 1.
CREATE TABLE rollout_stage_current (
    unit_id bigint PRIMARY KEY REFERENCES unit (id) ON DELETE CASCADE,
    stage smallint NOT NULL CHECK (stage BETWEEN 1 AND 5),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollout_stage_current_stage ON rollout_stage_current (stage);

-- Every move between stages: who, when, from, to, why, and whether a manual sign-off
-- stood in for gate criteria that were not met by data.
CREATE TABLE rollout_move (
    id bigserial PRIMARY KEY,
    unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    from_stage smallint NOT NULL CHECK (from_stage BETWEEN 1 AND 5),
    to_stage smallint NOT NULL CHECK (to_stage BETWEEN 1 AND 5),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    signed_off boolean NOT NULL DEFAULT false,
    actor_id bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    actor_label varchar(320) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (from_stage <> to_stage)
);
CREATE INDEX rollout_move_unit ON rollout_move (unit_id, id DESC);

-- Gate criteria HQ sets for entering a stage (2–5). threshold: maturity level (0–5) or
-- adoption in percent (0–100); none for a manual sign-off.
CREATE TABLE rollout_gate (
    id bigserial PRIMARY KEY,
    stage smallint NOT NULL CHECK (stage BETWEEN 2 AND 5),
    criterion varchar(40) NOT NULL
        CHECK (criterion IN ('assessment_maturity_at_least', 'adoption_at_least',
                             'manual_signoff')),
    threshold numeric(6, 2),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stage, criterion),
    CHECK ((criterion = 'manual_signoff') = (threshold IS NULL))
);

-- Setup wizard: steps an HQ admin explicitly confirmed or skipped (the rest of its state
-- is read from the data itself).
CREATE TABLE setup_progress (
    step varchar(40) PRIMARY KEY,
    state varchar(20) NOT NULL CHECK (state IN ('confirmed', 'skipped')),
    actor_id bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    actor_label varchar(320) NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The organisation's own names for unit kinds, per language (built-in names otherwise).
CREATE TABLE unit_kind_label (
    kind varchar(20) NOT NULL
        CHECK (kind IN ('hq', 'region', 'country', 'business_unit', 'brand', 'team')),
    locale varchar(10) NOT NULL,
    label varchar(60) NOT NULL CHECK (length(btrim(label)) > 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, locale)
);

-- A unit's history in the editor reads its audit events by object.
CREATE INDEX IF NOT EXISTS audit_event_object ON audit_event (object_type, object_id, id DESC);
