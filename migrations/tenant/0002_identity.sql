-- Who may do what where: a role at a unit holds for that unit's subtree.
CREATE TABLE membership (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES scalemark.user_account (id) ON DELETE CASCADE,
    role varchar(20) NOT NULL
        CHECK (role IN ('hq_admin', 'unit_lead', 'contributor', 'it_owner', 'stakeholder')),
    unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE RESTRICT,
    status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'disabled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, role, unit_id)
);
CREATE INDEX membership_user ON membership (user_id) WHERE status = 'active';

-- Invitations by e-mail; the token is stored hashed and expires.
CREATE TABLE invitation (
    id bigserial PRIMARY KEY,
    email varchar(320) NOT NULL,
    role varchar(20) NOT NULL
        CHECK (role IN ('hq_admin', 'unit_lead', 'contributor', 'it_owner', 'stakeholder')),
    unit_id bigint NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    token_hash char(64) NOT NULL UNIQUE,
    invited_by bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Who did what and when, with before/after values.
CREATE TABLE audit_event (
    id bigserial PRIMARY KEY,
    actor_id bigint,
    actor_label varchar(320) NOT NULL DEFAULT '',
    action varchar(64) NOT NULL,
    object_type varchar(64) NOT NULL DEFAULT '',
    object_id varchar(64) NOT NULL DEFAULT '',
    before jsonb,
    after jsonb,
    ip varchar(64),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_event_created ON audit_event (created_at DESC);
CREATE INDEX audit_event_action ON audit_event (action, created_at DESC);
