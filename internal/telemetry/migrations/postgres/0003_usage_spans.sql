-- The coarse tier of the usage rollups (PostgreSQL): sums over aligned
-- buckets of 2, 4, 8, 16, 32 and 64 days, so that a long usage query reads
-- a few buckets instead of a row per day (internal/telemetry/span.go).
--
-- usage_span_key_model (key, team, model) and usage_span_end_user (end
-- user alone) are the two daily tables that barely shrink when summed by
-- day: a key uses many models every day, an end user makes a request or
-- two a day. A bucket of `days` days starts on `day`, whose day number
-- (days since 1970-01-01) is a multiple of `days`. Every bucket whose days
-- are all before usage_rollup_state.finalized_before, and that starts on
-- or after spans_from, holds exactly the sums of its days' rows: the sink
-- builds a bucket from its two halves (a 2-day bucket from the daily
-- table) in the transaction that rolls up its last day, adds a row
-- written later for one of its days in the transaction that stores it,
-- and retention drops the buckets that hold a pruned day and moves
-- spans_from past them (NULL: no bucket was dropped).
--
-- This migration builds every complete bucket from the daily rollups
-- already there, narrowest first (each width reads the one before: about
-- two reads of the daily tables in all), inserting each width's rows in
-- key order, so that a bucket's rows lie together as the sink's own
-- builds (one bucket per statement) leave them: a query reads a few
-- buckets, and scattered rows made it read most of a width's pages.

ALTER TABLE usage_rollup_state ADD COLUMN spans_from DATE;

-- The sum of bigints as a bigint (an error on overflow), which usage
-- queries and roll-ups use: sum(bigint) adds in 128 bits and returns a
-- numeric, and cost about a third of a 90-day usage query by end user on 10
-- million rows (docs/benchmarks.md).
CREATE AGGREGATE usage_sum(bigint) (SFUNC = int8pl, STYPE = bigint, COMBINEFUNC = int8pl, PARALLEL = SAFE);

CREATE TABLE usage_span_key_model (
    days               INTEGER          NOT NULL,
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
    PRIMARY KEY (days, day, key_id, team, model)
);

CREATE TABLE usage_span_end_user (
    days               INTEGER          NOT NULL,
    day                DATE             NOT NULL,
    end_user           TEXT             NOT NULL,
    requests           BIGINT           NOT NULL,
    errors             BIGINT           NOT NULL,
    prompt_tokens      BIGINT           NOT NULL,
    completion_tokens  BIGINT           NOT NULL,
    cached_tokens      BIGINT           NOT NULL,
    cache_write_tokens BIGINT           NOT NULL,
    reasoning_tokens   BIGINT           NOT NULL,
    cost_usd           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (days, day, end_user)
);

INSERT INTO usage_span_key_model
SELECT 2, date '1970-01-01' + ((day - date '1970-01-01') & -2), key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_key_model
WHERE day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -2) FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 4, date '1970-01-01' + ((day - date '1970-01-01') & -4), key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 2 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -4) FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 8, date '1970-01-01' + ((day - date '1970-01-01') & -8), key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 4 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -8) FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 16, date '1970-01-01' + ((day - date '1970-01-01') & -16), key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 8 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -16) FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 32, date '1970-01-01' + ((day - date '1970-01-01') & -32), key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 16 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -32) FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_key_model
SELECT 64, date '1970-01-01' + ((day - date '1970-01-01') & -64), key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_key_model
WHERE days = 32 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -64) FROM usage_rollup_state)
GROUP BY 2, 3, 4, 5
ORDER BY 2, 3, 4, 5;

INSERT INTO usage_span_end_user
SELECT 2, date '1970-01-01' + ((day - date '1970-01-01') & -2), end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_end_user
WHERE day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -2) FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 4, date '1970-01-01' + ((day - date '1970-01-01') & -4), end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 2 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -4) FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 8, date '1970-01-01' + ((day - date '1970-01-01') & -8), end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 4 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -8) FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 16, date '1970-01-01' + ((day - date '1970-01-01') & -16), end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 8 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -16) FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 32, date '1970-01-01' + ((day - date '1970-01-01') & -32), end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 16 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -32) FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

INSERT INTO usage_span_end_user
SELECT 64, date '1970-01-01' + ((day - date '1970-01-01') & -64), end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_span_end_user
WHERE days = 32 AND day < (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -64) FROM usage_rollup_state)
GROUP BY 2, 3
ORDER BY 2, 3;

-- The open bucket (days 0): the rolled-up days of the current 64-day
-- bucket, from its first day to finalized_before.
INSERT INTO usage_span_key_model
SELECT 0, s.first, key_id, team, model,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_key_model, (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -64) AS first, finalized_before FROM usage_rollup_state) s
WHERE day >= s.first AND day < s.finalized_before
GROUP BY s.first, key_id, team, model;

INSERT INTO usage_span_end_user
SELECT 0, s.first, end_user,
       usage_sum(requests), usage_sum(errors), usage_sum(prompt_tokens), usage_sum(completion_tokens),
       usage_sum(cached_tokens), usage_sum(cache_write_tokens), usage_sum(reasoning_tokens), sum(cost_usd)
FROM usage_daily_end_user, (SELECT date '1970-01-01' + ((finalized_before - date '1970-01-01') & -64) AS first, finalized_before FROM usage_rollup_state) s
WHERE day >= s.first AND day < s.finalized_before
GROUP BY s.first, end_user;
