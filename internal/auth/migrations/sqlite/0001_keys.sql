-- Virtual keys, their audit log and the change counter (SQLite).
-- Times are unix microseconds (UTC); JSON columns hold text.

CREATE TABLE api_keys (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    version               INTEGER NOT NULL,
    id                    TEXT    NOT NULL UNIQUE,
    hash                  BLOB    NOT NULL UNIQUE,
    prefix                TEXT    NOT NULL,
    name                  TEXT    NOT NULL DEFAULT '',
    models                TEXT    NOT NULL DEFAULT '[]',
    rpm                   INTEGER NOT NULL DEFAULT 0,
    tpm                   INTEGER NOT NULL DEFAULT 0,
    max_concurrent        INTEGER NOT NULL DEFAULT 0,
    budget_usd            REAL    NOT NULL DEFAULT 0,
    budget_period         TEXT    NOT NULL DEFAULT '',
    spend_usd             REAL    NOT NULL DEFAULT 0,
    expires_at            INTEGER,
    disabled              INTEGER NOT NULL DEFAULT 0,
    revoked               INTEGER NOT NULL DEFAULT 0,
    team                  TEXT    NOT NULL DEFAULT '',
    tags                  TEXT    NOT NULL DEFAULT '{}',
    model_limits          TEXT    NOT NULL DEFAULT '{}',
    allow_routing_headers INTEGER NOT NULL DEFAULT 0,
    guardrails            TEXT    NOT NULL DEFAULT '[]',
    prev_hash             BLOB,
    prev_until            INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE INDEX api_keys_version ON api_keys (version);

-- One row; every write to api_keys bumps it in the same transaction.
CREATE TABLE api_key_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);

INSERT INTO api_key_version (id, version) VALUES (1, 0);

CREATE TABLE api_key_audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    action  TEXT    NOT NULL,
    key_id  TEXT    NOT NULL,
    changes TEXT    NOT NULL,
    actor   TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX api_key_audit_key ON api_key_audit (key_id, seq);
