-- Teams (PostgreSQL): keys in a team share its limits and budget. Writes
-- bump api_key_version like key writes, so other instances pick them up
-- with the keys' changes; a delete leaves a tombstone (deleted = true) for
-- the same reason. A team's spend is kept in api_key_spend under key_id
-- 'team:' || id.

CREATE TABLE teams (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version         BIGINT           NOT NULL,
    id              TEXT             NOT NULL UNIQUE,
    name            TEXT             NOT NULL DEFAULT '',
    models          JSONB            NOT NULL DEFAULT '[]',
    rpm             BIGINT           NOT NULL DEFAULT 0,
    tpm             BIGINT           NOT NULL DEFAULT 0,
    max_concurrent  BIGINT           NOT NULL DEFAULT 0,
    budget_usd      DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_period   TEXT             NOT NULL DEFAULT '',
    tags            JSONB            NOT NULL DEFAULT '{}',
    end_user_limits JSONB            NOT NULL DEFAULT '{}',
    deleted         BOOLEAN          NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ      NOT NULL,
    updated_at      TIMESTAMPTZ      NOT NULL
);

CREATE INDEX teams_version ON teams (version);

-- A key's team (team_id, '' for none; the free-text team column stays)
-- and the limits of each of its end users.
ALTER TABLE api_keys ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN end_user_limits JSONB NOT NULL DEFAULT '{}';

CREATE INDEX api_keys_team ON api_keys (team_id);
