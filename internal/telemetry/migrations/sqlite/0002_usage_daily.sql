-- Usage rollups, end-user and team indexes, and the cache-write and
-- reasoning token counts (SQLite). See the PostgreSQL migration of the
-- same number for what the rollups hold and how they are kept; here a day
-- is its text, 'YYYY-MM-DD', and the sink's transactions (one writer at a
-- time) stand in for the advisory locks. This migration rolls up the days
-- before today from the rows already there.

ALTER TABLE request_logs ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;

CREATE INDEX request_logs_end_user_time ON request_logs (end_user, time, request_id);

CREATE TABLE usage_daily_model (
    day                TEXT    NOT NULL,
    team               TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    PRIMARY KEY (day, team, model)
) WITHOUT ROWID;

CREATE TABLE usage_daily_key (
    day                TEXT    NOT NULL,
    key_id             TEXT    NOT NULL,
    team               TEXT    NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    PRIMARY KEY (day, key_id, team)
) WITHOUT ROWID;

CREATE TABLE usage_daily_key_model (
    day                TEXT    NOT NULL,
    key_id             TEXT    NOT NULL,
    team               TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    PRIMARY KEY (day, key_id, team, model)
) WITHOUT ROWID;

CREATE TABLE usage_daily_end_user (
    day                TEXT    NOT NULL,
    key_id             TEXT    NOT NULL,
    team               TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    end_user           TEXT    NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    PRIMARY KEY (day, key_id, team, model, end_user)
) WITHOUT ROWID;

CREATE TABLE usage_rollup_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    finalized_before TEXT
);

INSERT INTO usage_rollup_state
SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM request_logs) THEN date('now') END;

-- The day expression is the sink's (sqlbuild.go): UTC, floored for times
-- before 1970.
INSERT INTO usage_daily_end_user
SELECT strftime('%Y-%m-%d', (time - (time < 0) * 999999999) / 1000000000, 'unixepoch'),
       key_id, team, model, end_user,
       count(*), sum(status >= 400),
       sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), 0, 0, sum(cost_usd)
FROM request_logs
WHERE time < strftime('%s', (SELECT finalized_before FROM usage_rollup_state)) * 1000000000
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
