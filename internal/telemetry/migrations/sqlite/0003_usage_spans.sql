-- The coarse tier of the usage rollups (SQLite). See the PostgreSQL
-- migration of the same number for what the tables hold and how they are
-- kept; here a day is its text, 'YYYY-MM-DD', and its day number is
-- unixepoch(day) / 86400 (exact: a day's text is its midnight). This
-- migration builds every complete bucket from the daily rollups already
-- there, narrowest first.

ALTER TABLE usage_rollup_state ADD COLUMN spans_from TEXT;

CREATE TABLE usage_span_key_model (
    days               INTEGER NOT NULL,
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
    PRIMARY KEY (days, day, key_id, team, model)
) WITHOUT ROWID;

CREATE TABLE usage_span_end_user (
    days               INTEGER NOT NULL,
    day                TEXT    NOT NULL,
    end_user           TEXT    NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost_usd           REAL    NOT NULL,
    PRIMARY KEY (days, day, end_user)
) WITHOUT ROWID;

INSERT INTO usage_span_key_model
SELECT 2, date(((unixepoch(day) / 86400) & -2) * 86400, 'unixepoch'), key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_key_model
WHERE day < (SELECT date(((unixepoch(finalized_before) / 86400) & -2) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 4, date(((unixepoch(day) / 86400) & -4) * 86400, 'unixepoch'), key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 2 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -4) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 8, date(((unixepoch(day) / 86400) & -8) * 86400, 'unixepoch'), key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 4 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -8) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 16, date(((unixepoch(day) / 86400) & -16) * 86400, 'unixepoch'), key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 8 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -16) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 32, date(((unixepoch(day) / 86400) & -32) * 86400, 'unixepoch'), key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 16 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -32) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 64, date(((unixepoch(day) / 86400) & -64) * 86400, 'unixepoch'), key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 32 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -64) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_end_user
SELECT 2, date(((unixepoch(day) / 86400) & -2) * 86400, 'unixepoch'), end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_end_user
WHERE day < (SELECT date(((unixepoch(finalized_before) / 86400) & -2) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 4, date(((unixepoch(day) / 86400) & -4) * 86400, 'unixepoch'), end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 2 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -4) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 8, date(((unixepoch(day) / 86400) & -8) * 86400, 'unixepoch'), end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 4 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -8) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 16, date(((unixepoch(day) / 86400) & -16) * 86400, 'unixepoch'), end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 8 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -16) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 32, date(((unixepoch(day) / 86400) & -32) * 86400, 'unixepoch'), end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 16 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -32) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 64, date(((unixepoch(day) / 86400) & -64) * 86400, 'unixepoch'), end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 32 AND day < (SELECT date(((unixepoch(finalized_before) / 86400) & -64) * 86400, 'unixepoch') FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

-- The open bucket (days 0): the rolled-up days of the current 64-day
-- bucket, from its first day to finalized_before.
INSERT INTO usage_span_key_model
SELECT 0, s.first, key_id, team, model,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_key_model, (SELECT date(((unixepoch(finalized_before) / 86400) & -64) * 86400, 'unixepoch') AS first, finalized_before FROM usage_rollup_state) s
WHERE day >= s.first AND day < s.finalized_before
GROUP BY s.first, key_id, team, model;

INSERT INTO usage_span_end_user
SELECT 0, s.first, end_user,
       sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_end_user, (SELECT date(((unixepoch(finalized_before) / 86400) & -64) * 86400, 'unixepoch') AS first, finalized_before FROM usage_rollup_state) s
WHERE day >= s.first AND day < s.finalized_before
GROUP BY s.first, end_user;
