-- Usage rollups, end-user and team indexes, and the cache-write and
-- reasoning token counts (PostgreSQL).
--
-- usage_daily holds, per UTC day, key, team and model, the sums that
-- GET /admin/v1/usage returns; usage_daily_end_user the same per end user
-- too. The sink adds each batch's sums to them in the transaction that
-- writes the batch's rows (only the rows actually inserted: a replayed
-- duplicate adds nothing), and retention deletes a day's sums with its
-- partition, so a day's rollup always equals the sums of its rows. Usage
-- queries read whole days in their range from the rollups and the partial
-- first and last days from request_logs (see query.go).
--
-- This migration fills the rollups from the rows already there: it reads
-- every row once (a minute or so per 10 million rows), and builds the two
-- new indexes on every partition.

ALTER TABLE request_logs
    ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN reasoning_tokens   BIGINT NOT NULL DEFAULT 0;

-- Logs of one end user, or one team, newest first (keyset on time,
-- request_id, as for keys).
CREATE INDEX request_logs_end_user_time ON request_logs (end_user, time, request_id);
CREATE INDEX request_logs_team_time ON request_logs (team, time, request_id);

-- Rows are updated in place batch after batch; free space on each page
-- lets PostgreSQL keep the new versions there (HOT updates).
CREATE TABLE usage_daily (
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
) WITH (fillfactor = 80);

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
) WITH (fillfactor = 80);

INSERT INTO usage_daily_end_user
SELECT (time AT TIME ZONE 'UTC')::date, key_id, team, model, end_user,
       count(*), count(*) FILTER (WHERE status >= 400),
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
