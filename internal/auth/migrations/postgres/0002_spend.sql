-- Spend per key per UTC day (PostgreSQL), added by the limiter
-- (internal/ratelimit) off the request path. day counts days since
-- 1970-01-01; a period's spend is the sum of its days. Static keys'
-- spend is kept here too, by id.

CREATE TABLE api_key_spend (
    key_id TEXT             NOT NULL,
    day    BIGINT           NOT NULL,
    usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);

CREATE INDEX api_key_spend_day ON api_key_spend (day);
