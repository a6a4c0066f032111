-- Virtual keys, their audit log and the change counter (PostgreSQL).

CREATE TABLE api_keys (
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version               BIGINT           NOT NULL,
    id                    TEXT             NOT NULL UNIQUE,
    hash                  BYTEA            NOT NULL UNIQUE,
    prefix                TEXT             NOT NULL,
    name                  TEXT             NOT NULL DEFAULT '',
    models                JSONB            NOT NULL DEFAULT '[]',
    rpm                   BIGINT           NOT NULL DEFAULT 0,
    tpm                   BIGINT           NOT NULL DEFAULT 0,
    max_concurrent        BIGINT           NOT NULL DEFAULT 0,
    budget_usd            DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_period         TEXT             NOT NULL DEFAULT '',
    spend_usd             DOUBLE PRECISION NOT NULL DEFAULT 0,
    expires_at            TIMESTAMPTZ,
    disabled              BOOLEAN          NOT NULL DEFAULT false,
    revoked               BOOLEAN          NOT NULL DEFAULT false,
    team                  TEXT             NOT NULL DEFAULT '',
    tags                  JSONB            NOT NULL DEFAULT '{}',
    model_limits          JSONB            NOT NULL DEFAULT '{}',
    allow_routing_headers BOOLEAN          NOT NULL DEFAULT false,
    guardrails            JSONB            NOT NULL DEFAULT '[]',
    prev_hash             BYTEA,
    prev_until            TIMESTAMPTZ,
    created_at            TIMESTAMPTZ      NOT NULL,
    updated_at            TIMESTAMPTZ      NOT NULL
);

CREATE INDEX api_keys_version ON api_keys (version);

-- One row; every write to api_keys bumps it in the same transaction, and
-- its row lock orders the writers, so versions commit in order.
CREATE TABLE api_key_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);

INSERT INTO api_key_version (id, version) VALUES (1, 0);

CREATE TABLE api_key_audit (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    action  TEXT        NOT NULL,
    key_id  TEXT        NOT NULL,
    changes JSONB       NOT NULL,
    actor   TEXT        NOT NULL DEFAULT ''
);

CREATE INDEX api_key_audit_key ON api_key_audit (key_id, seq);
