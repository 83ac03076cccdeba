-- Several tenants may have a pending claim on one e-mail domain; only one can hold it
-- verified. Verifying a claim removes the other tenants' pending ones.
ALTER TABLE scalemark.tenant_domain DROP CONSTRAINT tenant_domain_pkey;
ALTER TABLE scalemark.tenant_domain ADD PRIMARY KEY (domain, tenant_id);
CREATE UNIQUE INDEX tenant_domain_verified ON scalemark.tenant_domain (domain)
    WHERE verified_at IS NOT NULL;
