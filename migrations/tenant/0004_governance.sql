-- Governance workspace: standards, approval workflows, RACI, operating model, versions.
-- Drafts live in the tables below; units only ever see published versions (snapshots).

-- Process and campaign standards. scope_unit_id NULL = central (HQ), else a local addition
-- that holds for that unit's subtree.
CREATE TABLE governance_standard (
    id bigserial PRIMARY KEY,
    scope_unit_id bigint REFERENCES unit (id) ON DELETE RESTRICT,
    category varchar(20) NOT NULL DEFAULT 'process' CHECK (category IN ('process', 'campaign')),
    title varchar(200) NOT NULL CHECK (length(btrim(title)) > 0),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    level varchar(20) NOT NULL CHECK (level IN ('mandatory', 'recommended')),
    applies_to_kinds text[] NOT NULL DEFAULT '{}'
        CHECK (applies_to_kinds <@ ARRAY['hq', 'region', 'country', 'business_unit', 'brand',
                                         'team']::text[]),
    owner_role varchar(20) NOT NULL
        CHECK (owner_role IN ('hq_admin', 'unit_lead', 'contributor', 'it_owner', 'stakeholder')),
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE UNIQUE INDEX governance_standard_title ON governance_standard
    (coalesce(scope_unit_id, 0), lower(title)) WHERE archived_at IS NULL;
CREATE INDEX governance_standard_scope ON governance_standard (scope_unit_id);

-- Approval workflows with ordered steps: who approves (role at a unit level), within how
-- many days, and whom it escalates to when the time runs out.
CREATE TABLE approval_workflow (
    id bigserial PRIMARY KEY,
    name varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE UNIQUE INDEX approval_workflow_name ON approval_workflow (lower(name))
    WHERE archived_at IS NULL;

CREATE TABLE approval_step (
    id bigserial PRIMARY KEY,
    workflow_id bigint NOT NULL REFERENCES approval_workflow (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 1),
    approver_role varchar(20) NOT NULL
        CHECK (approver_role IN ('hq_admin', 'unit_lead', 'contributor', 'it_owner')),
    approver_level varchar(20) NOT NULL
        CHECK (approver_level IN ('same_unit', 'parent', 'hq', 'region', 'country',
                                  'business_unit', 'brand', 'team')),
    days_limit integer NOT NULL CHECK (days_limit BETWEEN 1 AND 365),
    escalation_role varchar(20)
        CHECK (escalation_role IN ('hq_admin', 'unit_lead', 'contributor', 'it_owner')),
    escalation_level varchar(20)
        CHECK (escalation_level IN ('same_unit', 'parent', 'hq', 'region', 'country',
                                    'business_unit', 'brand', 'team')),
    UNIQUE (workflow_id, position),
    CHECK ((escalation_role IS NULL) = (escalation_level IS NULL))
);

-- RACI matrix: activities × roles, one letter per cell, exactly one A per activity.
CREATE TABLE raci_activity (
    id bigserial PRIMARY KEY,
    title varchar(200) NOT NULL CHECK (length(btrim(title)) > 0),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE UNIQUE INDEX raci_activity_title ON raci_activity (lower(title)) WHERE archived_at IS NULL;

CREATE TABLE raci_assignment (
    activity_id bigint NOT NULL REFERENCES raci_activity (id) ON DELETE CASCADE,
    role varchar(20) NOT NULL
        CHECK (role IN ('hq_admin', 'unit_lead', 'contributor', 'it_owner', 'stakeholder')),
    letter char(1) NOT NULL CHECK (letter IN ('R', 'A', 'C', 'I')),
    PRIMARY KEY (activity_id, role)
);
-- At most one A per activity ...
CREATE UNIQUE INDEX raci_assignment_one_a ON raci_assignment (activity_id) WHERE letter = 'A';

-- ... and at least one, checked when the transaction commits (the service says it first,
-- with a friendlier message).
CREATE FUNCTION raci_check_accountable() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    target bigint;
BEGIN
    IF TG_TABLE_NAME = 'raci_activity' THEN
        target := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        target := OLD.activity_id;
    ELSE
        target := NEW.activity_id;
    END IF;
    IF EXISTS (SELECT 1 FROM raci_activity WHERE id = target AND archived_at IS NULL)
       AND (SELECT count(*) FROM raci_assignment WHERE activity_id = target AND letter = 'A') <> 1
    THEN
        RAISE EXCEPTION 'RACI activity % needs exactly one accountable role', target
            USING ERRCODE = 'check_violation', CONSTRAINT = 'raci_exactly_one_a';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER raci_activity_accountable AFTER INSERT OR UPDATE ON raci_activity
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raci_check_accountable();
CREATE CONSTRAINT TRIGGER raci_assignment_accountable
    AFTER INSERT OR UPDATE OR DELETE ON raci_assignment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raci_check_accountable();

-- Operating model: decision paths, escalation levels and coordination rhythms.
CREATE TABLE operating_model_item (
    id bigserial PRIMARY KEY,
    kind varchar(30) NOT NULL
        CHECK (kind IN ('decision_path', 'escalation_level', 'coordination_rhythm')),
    title varchar(200) NOT NULL CHECK (length(btrim(title)) > 0),
    details text NOT NULL DEFAULT '' CHECK (length(details) <= 4000),
    cadence varchar(20)
        CHECK (cadence IN ('weekly', 'every_two_weeks', 'monthly', 'quarterly', 'half_yearly',
                           'yearly', 'as_needed')),
    participants text[] NOT NULL DEFAULT '{}'
        CHECK (participants <@ ARRAY['hq_admin', 'unit_lead', 'contributor', 'it_owner',
                                     'stakeholder']::text[]),
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE UNIQUE INDEX operating_model_item_title ON operating_model_item (kind, lower(title))
    WHERE archived_at IS NULL;

-- Published versions: numbered, immutable snapshots of every governance part.
-- scope_unit_id is set when a unit lead published only their subtree's local additions.
CREATE TABLE governance_version (
    id bigserial PRIMARY KEY,
    number integer NOT NULL UNIQUE CHECK (number >= 1),
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    published_by_label varchar(320) NOT NULL DEFAULT '',
    scope_unit_id bigint REFERENCES unit (id) ON DELETE SET NULL,
    snapshot jsonb NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000)
);
