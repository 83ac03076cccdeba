-- Scalability assessments: framework snapshots, assessments with their units, targets and
-- respondents, answers (with every earlier revision kept), the consultant's validated
-- levels, lifecycle events and cached scores per unit.

-- The framework file an assessment runs on, stored whole: a new framework version (or an
-- edited file) never changes assessments created on an earlier one.
CREATE TABLE assessment_framework (
    id bigserial PRIMARY KEY,
    framework_key varchar(80) NOT NULL,
    version integer NOT NULL,
    sha256 char(64) NOT NULL UNIQUE,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assessment (
    id bigserial PRIMARY KEY,
    title varchar(200) NOT NULL CHECK (length(btrim(title)) > 0),
    framework_id bigint NOT NULL REFERENCES assessment_framework (id),
    status varchar(12) NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'open', 'in_review', 'closed')),
    due_date date,
    -- The assessment this one is the next cycle of (results compare against it).
    previous_id bigint REFERENCES assessment (id) ON DELETE SET NULL,
    cycle integer NOT NULL DEFAULT 1 CHECK (cycle >= 1),
    created_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    opened_at timestamptz,
    closed_at timestamptz
);
CREATE INDEX assessment_previous ON assessment (previous_id);

-- Units in scope, with their weight when scores roll up the tree.
CREATE TABLE assessment_unit (
    assessment_id bigint NOT NULL REFERENCES assessment (id) ON DELETE CASCADE,
    unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    weight numeric(6, 2) NOT NULL DEFAULT 1 CHECK (weight > 0),
    -- Cached scores of this unit are out of date (answers or validations changed).
    scores_stale boolean NOT NULL DEFAULT true,
    PRIMARY KEY (assessment_id, unit_id)
);
CREATE INDEX assessment_unit_unit ON assessment_unit (unit_id);

-- Target maturity per dimension (defaults from the governance setup or the framework).
CREATE TABLE assessment_target (
    assessment_id bigint NOT NULL REFERENCES assessment (id) ON DELETE CASCADE,
    dimension_key varchar(80) NOT NULL,
    level numeric(3, 1) NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (assessment_id, dimension_key)
);

-- People asked to answer for a unit, by e-mail (they may not have an account yet).
CREATE TABLE assessment_respondent (
    id bigserial PRIMARY KEY,
    assessment_id bigint NOT NULL REFERENCES assessment (id) ON DELETE CASCADE,
    unit_id bigint NOT NULL,
    email varchar(320) NOT NULL,
    locale varchar(10) NOT NULL DEFAULT 'en',
    invited_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (assessment_id, unit_id) REFERENCES assessment_unit (assessment_id, unit_id)
        ON DELETE CASCADE,
    UNIQUE (assessment_id, unit_id, email)
);
CREATE INDEX assessment_respondent_email ON assessment_respondent (lower(email));

-- A respondent's answer to one question (or positioning on one tension field).
-- choice: 'level' (level 1–5), 'na' (not applicable), 'dk' (don't know), 'position'
-- (tension field, position 0–100). revision grows with every save: a save based on an
-- older revision is a conflict and is refused; every saved revision is kept in
-- assessment_answer_revision, so nothing anyone entered is lost.
CREATE TABLE assessment_answer (
    id bigserial PRIMARY KEY,
    respondent_id bigint NOT NULL REFERENCES assessment_respondent (id) ON DELETE CASCADE,
    question_key varchar(80) NOT NULL,
    choice varchar(8) CHECK (choice IN ('level', 'na', 'dk', 'position')),
    level smallint CHECK (level BETWEEN 1 AND 5),
    target_level smallint CHECK (target_level BETWEEN 1 AND 5),
    position smallint CHECK (position BETWEEN 0 AND 100),
    comment text NOT NULL DEFAULT '' CHECK (length(comment) <= 4000),
    evidence_url varchar(2000) NOT NULL DEFAULT '',
    revision integer NOT NULL DEFAULT 1,
    updated_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (respondent_id, question_key),
    CHECK ((choice = 'level') = (level IS NOT NULL)),
    CHECK ((choice = 'position') = (position IS NOT NULL))
);

CREATE TABLE assessment_answer_revision (
    id bigserial PRIMARY KEY,
    answer_id bigint NOT NULL REFERENCES assessment_answer (id) ON DELETE CASCADE,
    revision integer NOT NULL,
    choice varchar(8),
    level smallint,
    target_level smallint,
    position smallint,
    comment text NOT NULL DEFAULT '',
    evidence_url varchar(2000) NOT NULL DEFAULT '',
    -- A save refused as a conflict is kept too, so the losing input can be recovered.
    conflicted boolean NOT NULL DEFAULT false,
    updated_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessment_answer_revision_answer ON assessment_answer_revision (answer_id, id);

-- The consultant's validated level per unit and question, with a rationale.
CREATE TABLE assessment_validation (
    assessment_id bigint NOT NULL,
    unit_id bigint NOT NULL,
    question_key varchar(80) NOT NULL,
    choice varchar(8) NOT NULL CHECK (choice IN ('level', 'na')),
    level smallint CHECK (level BETWEEN 1 AND 5),
    rationale text NOT NULL CHECK (length(btrim(rationale)) > 0 AND length(rationale) <= 4000),
    validated_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    validated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assessment_id, unit_id, question_key),
    FOREIGN KEY (assessment_id, unit_id) REFERENCES assessment_unit (assessment_id, unit_id)
        ON DELETE CASCADE,
    CHECK ((choice = 'level') = (level IS NOT NULL))
);

-- Lifecycle moves (draft → open → in_review → closed; reopening needs a reason).
CREATE TABLE assessment_event (
    id bigserial PRIMARY KEY,
    assessment_id bigint NOT NULL REFERENCES assessment (id) ON DELETE CASCADE,
    from_status varchar(12),
    to_status varchar(12) NOT NULL,
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    actor_id bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    actor_label varchar(320) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessment_event_assessment ON assessment_event (assessment_id, id);

-- Scores per unit and dimension (the unit's own answers, not rolled up), recomputed when
-- assessment_unit.scores_stale is set. dimension_key '' holds the unit's overall score.
-- self_score: respondents' answers pooled; validated_score: validated levels where the
-- consultant set one, the self-assessed answers elsewhere.
CREATE TABLE assessment_score (
    assessment_id bigint NOT NULL,
    unit_id bigint NOT NULL,
    dimension_key varchar(80) NOT NULL,
    self_score numeric(4, 2),
    validated_score numeric(4, 2),
    answered integer NOT NULL DEFAULT 0,
    dont_know integer NOT NULL DEFAULT 0,
    not_applicable integer NOT NULL DEFAULT 0,
    questions integer NOT NULL DEFAULT 0,
    spread numeric(4, 2),
    PRIMARY KEY (assessment_id, unit_id, dimension_key),
    FOREIGN KEY (assessment_id, unit_id) REFERENCES assessment_unit (assessment_id, unit_id)
        ON DELETE CASCADE
);

-- Tension-field positions per unit (mean of the respondents' positions), cached with the
-- scores.
CREATE TABLE assessment_position (
    assessment_id bigint NOT NULL,
    unit_id bigint NOT NULL,
    field_key varchar(80) NOT NULL,
    position numeric(5, 2) NOT NULL,
    respondents integer NOT NULL,
    PRIMARY KEY (assessment_id, unit_id, field_key),
    FOREIGN KEY (assessment_id, unit_id) REFERENCES assessment_unit (assessment_id, unit_id)
        ON DELETE CASCADE
);
