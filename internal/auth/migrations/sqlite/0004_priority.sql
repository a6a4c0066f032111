-- A key's priority under overload: '' (normal, the default) or 'high'
-- (its requests are shed last).
ALTER TABLE api_keys ADD COLUMN priority TEXT NOT NULL DEFAULT '';
