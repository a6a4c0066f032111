-- Teams (SQLite): keys in a team share its limits and budget. Writes bump
-- api_key_version like key writes, so other instances pick them up with
-- the keys' changes; a delete leaves a tombstone (deleted = 1) for the
-- same reason. A team's spend is kept in api_key_spend under key_id
-- "team:" + id.

CREATE TABLE teams (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    version         INTEGER NOT NULL,
    id              TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL DEFAULT '',
    models          TEXT    NOT NULL DEFAULT '[]',
    rpm             INTEGER NOT NULL DEFAULT 0,
    tpm             INTEGER NOT NULL DEFAULT 0,
    max_concurrent  INTEGER NOT NULL DEFAULT 0,
    budget_usd      REAL    NOT NULL DEFAULT 0,
    budget_period   TEXT    NOT NULL DEFAULT '',
    tags            TEXT    NOT NULL DEFAULT '{}',
    end_user_limits TEXT    NOT NULL DEFAULT '{}',
    deleted         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE INDEX teams_version ON teams (version);

-- A key's team (team_id, '' for none; the free-text team column stays)
-- and the limits of each of its end users.
ALTER TABLE api_keys ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN end_user_limits TEXT NOT NULL DEFAULT '{}';

CREATE INDEX api_keys_team ON api_keys (team_id);
