-- Tenant registry: one row per organisation; the schema name is derived from the slug.
CREATE TABLE scalemark.tenant (
    id bigserial PRIMARY KEY,
    slug varchar(40) NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
    name varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    schema_name varchar(63) NOT NULL UNIQUE,
    status varchar(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    default_locale varchar(10) NOT NULL DEFAULT 'en',
    locales varchar(10)[] NOT NULL DEFAULT ARRAY['en']::varchar(10)[],
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
