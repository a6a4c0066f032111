-- The request log (PostgreSQL): one row per request, partitioned by UTC day
-- on time. Partitions (request_logs_pYYYYMMDD) are created by the sink,
-- a few days ahead and on demand for any day a batch holds; retention
-- drops whole partitions. Durations are nanoseconds; PostgreSQL keeps
-- times to the microsecond.
--
-- A unique index on a partitioned table must include the partition key,
-- so rows are unique on (request_id, time): a replayed record carries the
-- time it was first written with, so replays still collide and are
-- skipped. The same index answers lookups by request_id.

CREATE TABLE request_logs (
    time              TIMESTAMPTZ      NOT NULL,
    request_id        TEXT             NOT NULL,
    key_id            TEXT             NOT NULL DEFAULT '',
    key_name          TEXT             NOT NULL DEFAULT '',
    team              TEXT             NOT NULL DEFAULT '',
    tags              JSONB,
    end_user          TEXT             NOT NULL DEFAULT '',
    client_ip         TEXT             NOT NULL DEFAULT '',
    user_agent        TEXT             NOT NULL DEFAULT '',
    route             TEXT             NOT NULL DEFAULT '',
    format            TEXT             NOT NULL DEFAULT '',
    model             TEXT             NOT NULL DEFAULT '',
    provider          TEXT             NOT NULL DEFAULT '',
    upstream_model    TEXT             NOT NULL DEFAULT '',
    stream            BOOLEAN          NOT NULL DEFAULT false,
    status            INTEGER          NOT NULL DEFAULT 0,
    error_code        TEXT             NOT NULL DEFAULT '',
    attempts          INTEGER          NOT NULL DEFAULT 0,
    fallback          BOOLEAN          NOT NULL DEFAULT false,
    latency_ns        BIGINT           NOT NULL DEFAULT 0,
    ttft_ns           BIGINT           NOT NULL DEFAULT 0,
    upstream_ns       BIGINT           NOT NULL DEFAULT 0,
    overhead_ns       BIGINT           NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT           NOT NULL DEFAULT 0,
    completion_tokens BIGINT           NOT NULL DEFAULT 0,
    cached_tokens     BIGINT           NOT NULL DEFAULT 0,
    tokens_estimated  BOOLEAN          NOT NULL DEFAULT false,
    cost_usd          DOUBLE PRECISION NOT NULL DEFAULT 0,
    guardrails        JSONB,
    rate_limit        TEXT             NOT NULL DEFAULT '',
    request_body      BYTEA,
    response_body     BYTEA,
    CONSTRAINT request_logs_request_id_time UNIQUE (request_id, time)
) PARTITION BY RANGE (time);

-- Logs newest first and usage over a time range; request_id breaks ties
-- for the keyset cursor.
CREATE INDEX request_logs_time ON request_logs (time, request_id);
-- Logs of one key over a time range.
CREATE INDEX request_logs_key_time ON request_logs (key_id, time, request_id);
