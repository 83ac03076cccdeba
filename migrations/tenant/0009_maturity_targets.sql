-- Target maturity per framework dimension, set by HQ in the governance setup: new
-- assessments on that framework start from these targets.
CREATE TABLE maturity_target (
    framework_key varchar(80) NOT NULL,
    dimension_key varchar(80) NOT NULL,
    level numeric(3, 1) NOT NULL CHECK (level BETWEEN 1 AND 5),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (framework_key, dimension_key)
);
