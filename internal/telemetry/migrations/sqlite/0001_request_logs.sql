-- The request log (SQLite): one row per request. Times are unix
-- nanoseconds, durations nanoseconds, tags and guardrails JSON text.
-- INSERT OR IGNORE on the unique (request_id, time) makes replays
-- idempotent (a replayed record keeps the time it was submitted with), as
-- in PostgreSQL; two requests that reuse one x-request-id are both kept.

CREATE TABLE request_logs (
    time              INTEGER NOT NULL,
    request_id        TEXT    NOT NULL,
    key_id            TEXT    NOT NULL DEFAULT '',
    key_name          TEXT    NOT NULL DEFAULT '',
    team              TEXT    NOT NULL DEFAULT '',
    tags              TEXT,
    end_user          TEXT    NOT NULL DEFAULT '',
    client_ip         TEXT    NOT NULL DEFAULT '',
    user_agent        TEXT    NOT NULL DEFAULT '',
    route             TEXT    NOT NULL DEFAULT '',
    format            TEXT    NOT NULL DEFAULT '',
    model             TEXT    NOT NULL DEFAULT '',
    provider          TEXT    NOT NULL DEFAULT '',
    upstream_model    TEXT    NOT NULL DEFAULT '',
    stream            INTEGER NOT NULL DEFAULT 0,
    status            INTEGER NOT NULL DEFAULT 0,
    error_code        TEXT    NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    fallback          INTEGER NOT NULL DEFAULT 0,
    latency_ns        INTEGER NOT NULL DEFAULT 0,
    ttft_ns           INTEGER NOT NULL DEFAULT 0,
    upstream_ns       INTEGER NOT NULL DEFAULT 0,
    overhead_ns       INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    tokens_estimated  INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL    NOT NULL DEFAULT 0,
    guardrails        TEXT,
    rate_limit        TEXT    NOT NULL DEFAULT '',
    request_body      BLOB,
    response_body     BLOB,
    UNIQUE (request_id, time)
);

CREATE INDEX request_logs_time ON request_logs (time, request_id);
CREATE INDEX request_logs_key_time ON request_logs (key_id, time, request_id);
