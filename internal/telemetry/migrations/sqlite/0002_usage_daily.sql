-- Usage rollups, end-user and team indexes, and the cache-write and
-- reasoning token counts (SQLite). See the PostgreSQL migration of the
-- same number for how the rollups are kept; here day is the UTC day's
-- text, 'YYYY-MM-DD'. This migration fills them from the rows already
-- there.

ALTER TABLE request_logs ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;

CREATE INDEX request_logs_end_user_time ON request_logs (end_user, time, request_id);
CREATE INDEX request_logs_team_time ON request_logs (team, time, request_id);

CREATE TABLE usage_daily (
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

-- The day expression is the sink's (sqlbuild.go): UTC, floored for times
-- before 1970.
INSERT INTO usage_daily_end_user
SELECT strftime('%Y-%m-%d', (time - (time < 0) * 999999999) / 1000000000, 'unixepoch'),
       key_id, team, model, end_user,
       count(*), sum(status >= 400),
       sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), 0, 0,
       sum(cost_usd)
FROM request_logs
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO usage_daily
SELECT day, key_id, team, model, sum(requests), sum(errors),
       sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), 0, 0,
       sum(cost_usd)
FROM usage_daily_end_user
GROUP BY 1, 2, 3, 4;
