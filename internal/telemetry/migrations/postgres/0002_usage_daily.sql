-- Usage rollups, end-user and team indexes, and the cache-write and
-- reasoning token counts (PostgreSQL).
--
-- Four tables hold per UTC day the sums GET /admin/v1/usage returns, each
-- per a set of groups (a query reads the smallest that has its groups):
-- usage_daily_model (team, model), usage_daily_key (key, team),
-- usage_daily_key_model (key, team, model) and usage_daily_end_user (key,
-- team, model, end user). Every day before
-- usage_rollup_state.finalized_before is rolled up: the sink rolls up a
-- day once it has ended, in one transaction that sums its rows under the
-- day's advisory lock, and adds a row written later for such a day (only
-- if inserted) to the rollups in the transaction that stores it;
-- retention deletes a day's rollups with its partition. So a rolled-up
-- day's rollups always equal the sums of its rows. finalized_before is
-- NULL until the sink first sets it to the day it runs on.
--
-- This migration adds an index on every partition and rolls up the
-- days before today from the rows already there (it reads every such row
-- once). Rows that an older binary writes afterwards for those days (a
-- rolling upgrade's replays) are not rolled up: upgrade together every
-- instance that writes to one database.

ALTER TABLE request_logs
    ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN reasoning_tokens   BIGINT NOT NULL DEFAULT 0;

-- Logs of one end user, newest first (keyset on time, request_id, as for
-- keys). Team has no index: a team is a large share of the rows, found
-- quickly walking the time index, and each index costs writes (about 10%
-- of the COPY rate each, measured); see docs/benchmarks.md.
CREATE INDEX request_logs_end_user_time ON request_logs (end_user, time, request_id);

CREATE TABLE usage_daily_model (
    day                DATE             NOT NULL,
    team               TEXT             NOT NULL,
    model              TEXT             NOT NULL,
    requests           BIGINT           NOT NULL,
    errors             BIGINT           NOT NULL,
    prompt_tokens      BIGINT           NOT NULL,
    completion_tokens  BIGINT           NOT NULL,
    cached_tokens      BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT           NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, team, model)
);

CREATE TABLE usage_daily_key (
    day                DATE             NOT NULL,
    key_id             TEXT             NOT NULL,
    team               TEXT             NOT NULL,
    requests           BIGINT           NOT NULL,
    errors             BIGINT           NOT NULL,
    prompt_tokens      BIGINT           NOT NULL,
    completion_tokens  BIGINT           NOT NULL,
    cached_tokens      BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT           NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, key_id, team)
);

CREATE TABLE usage_daily_key_model (
    day                DATE             NOT NULL,
    key_id             TEXT             NOT NULL,
    team               TEXT             NOT NULL,
    model              TEXT             NOT NULL,
    requests           BIGINT           NOT NULL,
    errors             BIGINT           NOT NULL,
    prompt_tokens      BIGINT           NOT NULL,
    completion_tokens  BIGINT           NOT NULL,
    cached_tokens      BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT           NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, key_id, team, model)
);

CREATE TABLE usage_daily_end_user (
    day                DATE             NOT NULL,
    key_id             TEXT             NOT NULL,
    team               TEXT             NOT NULL,
    model              TEXT             NOT NULL,
    end_user           TEXT             NOT NULL,
    requests           BIGINT           NOT NULL,
    errors             BIGINT           NOT NULL,
    prompt_tokens      BIGINT           NOT NULL,
    completion_tokens  BIGINT           NOT NULL,
    cached_tokens      BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT           NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, key_id, team, model, end_user)
);

CREATE TABLE usage_rollup_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    finalized_before DATE
);

INSERT INTO usage_rollup_state
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM request_logs) THEN (now() AT TIME ZONE 'UTC')::date END;

INSERT INTO usage_daily_end_user
SELECT (time AT TIME ZONE 'UTC')::date, key_id, team, model, end_user,
       count(*), count(*) FILTER (WHERE status >= 400),
       sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), 0, 0, sum(cost_usd)
FROM request_logs
WHERE time < ((SELECT finalized_before FROM usage_rollup_state)::timestamp AT TIME ZONE 'UTC')
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO usage_daily_key_model
SELECT day, key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
       sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_end_user
GROUP BY day, key_id, team, model;

INSERT INTO usage_daily_key
SELECT day, key_id, team,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
       sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_key_model
GROUP BY day, key_id, team;

INSERT INTO usage_daily_model
SELECT day, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
       sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_key_model
GROUP BY day, team, model;
