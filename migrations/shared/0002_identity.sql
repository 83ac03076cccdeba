-- Accounts and everything about them that crosses tenants.
CREATE TABLE scalemark.user_account (
    id bigserial PRIMARY KEY,
    email varchar(320) NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    name varchar(200) NOT NULL DEFAULT '',
    locale varchar(10),
    timezone varchar(64) NOT NULL DEFAULT 'UTC',
    status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    password_hash text,
    platform_role varchar(20) CHECK (platform_role IN ('platform_admin', 'consultant')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX user_account_email ON scalemark.user_account (email);

-- A user's login at an OpenID provider, linked by (issuer, subject), never by e-mail.
CREATE TABLE scalemark.identity (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES scalemark.user_account (id) ON DELETE CASCADE,
    issuer text NOT NULL,
    subject text NOT NULL,
    email varchar(320),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    UNIQUE (issuer, subject)
);
CREATE INDEX identity_user ON scalemark.identity (user_id);

-- Each tenant's OpenID provider (shared: the platform host's discovery needs it).
CREATE TABLE scalemark.identity_provider (
    tenant_id bigint PRIMARY KEY REFERENCES scalemark.tenant (id) ON DELETE CASCADE,
    issuer text NOT NULL,
    client_id text NOT NULL,
    client_secret_enc text NOT NULL,
    allowed_domains varchar(253)[] NOT NULL DEFAULT '{}',
    default_role varchar(20) NOT NULL DEFAULT 'contributor',
    join_mode varchar(20) NOT NULL DEFAULT 'auto' CHECK (join_mode IN ('auto', 'approval')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- E-mail domains claimed for home-realm discovery; proven by a DNS TXT record.
CREATE TABLE scalemark.tenant_domain (
    domain varchar(253) PRIMARY KEY CHECK (domain = lower(domain)),
    tenant_id bigint NOT NULL REFERENCES scalemark.tenant (id) ON DELETE CASCADE,
    token text NOT NULL,
    verified_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_domain_tenant ON scalemark.tenant_domain (tenant_id);

-- Which client tenants a consultant may open.
CREATE TABLE scalemark.consultant_assignment (
    user_id bigint NOT NULL REFERENCES scalemark.user_account (id) ON DELETE CASCADE,
    tenant_id bigint NOT NULL REFERENCES scalemark.tenant (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tenant_id)
);

-- API tokens: shown once, stored as SHA-256, bound to one tenant and user.
CREATE TABLE scalemark.api_token (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES scalemark.tenant (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES scalemark.user_account (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    token_hash char(64) NOT NULL UNIQUE,
    prefix varchar(16) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_token_tenant ON scalemark.api_token (tenant_id, user_id);

-- Every message sent (or, without SMTP, only logged): the development outbox.
CREATE TABLE scalemark.mail_outbox (
    id bigserial PRIMARY KEY,
    tenant_id bigint REFERENCES scalemark.tenant (id) ON DELETE SET NULL,
    recipient varchar(320) NOT NULL,
    subject text NOT NULL,
    body_text text NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'logged', 'failed')),
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);

-- Platform-level audit events (tenant events live in each tenant's audit_event).
CREATE TABLE scalemark.platform_event (
    id bigserial PRIMARY KEY,
    actor_id bigint REFERENCES scalemark.user_account (id) ON DELETE SET NULL,
    actor_label varchar(320) NOT NULL DEFAULT '',
    action varchar(64) NOT NULL,
    tenant_id bigint REFERENCES scalemark.tenant (id) ON DELETE SET NULL,
    target text NOT NULL DEFAULT '',
    before jsonb,
    after jsonb,
    ip varchar(64),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_event_created ON scalemark.platform_event (created_at DESC);

-- Tenant roles read user names and e-mails to show members; nothing else is shared.
GRANT SELECT ON scalemark.user_account TO {{tenant_group}};
GRANT REFERENCES ON scalemark.user_account TO {{tenant_group}};
-- Mail may be sent from inside a tenant transaction (invitations).
GRANT INSERT ON scalemark.mail_outbox TO {{tenant_group}};
GRANT USAGE ON SEQUENCE scalemark.mail_outbox_id_seq TO {{tenant_group}};
