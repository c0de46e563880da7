-- Up Migration
-- The stream: one sequence orders everything /sync reads. A writing transaction takes its position last, by
-- updating stream_head; the row lock orders commits by position, and readers use stream_head.pos as the watermark.
CREATE SEQUENCE stream_positions;
CREATE TABLE stream_head (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  pos bigint NOT NULL
);
INSERT INTO stream_head (only_row, pos) VALUES (true, 0);

CREATE TABLE users (
  user_id text PRIMARY KEY,
  password_hash text,
  is_admin boolean NOT NULL DEFAULT false,
  is_guest boolean NOT NULL DEFAULT false,
  deactivated boolean NOT NULL DEFAULT false,
  -- profile fields (displayname, avatar_url, m.tz, custom namespaced keys); under 64 KiB in all
  profile jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_ts bigint NOT NULL
);

CREATE TABLE devices (
  user_id text NOT NULL REFERENCES users ON DELETE CASCADE,
  device_id text NOT NULL,
  display_name text,
  created_ts bigint NOT NULL,
  last_seen_ts bigint,
  PRIMARY KEY (user_id, device_id)
);

-- Tokens are stored only as SHA-256 hashes of 256-bit random values.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  user_id text NOT NULL,
  device_id text NOT NULL,
  -- set once this token has been exchanged: the pair that replaced it
  next_token_hash bytea,
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);

CREATE TABLE access_tokens (
  token_hash bytea PRIMARY KEY,
  user_id text NOT NULL,
  device_id text NOT NULL,
  expires_ts bigint,
  refresh_token_hash bytea REFERENCES refresh_tokens ON DELETE CASCADE,
  -- the refresh token this pair replaced; revoked when this access token is first used
  replaces_refresh_hash bytea,
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);
CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);

CREATE TABLE uia_sessions (
  session_id text PRIMARY KEY,
  -- what the session authorises (e.g. "register", "delete_devices"); a session cannot be reused for another purpose
  purpose text NOT NULL,
  user_id text,
  completed text[] NOT NULL DEFAULT ARRAY[]::text[],
  registration_token text,
  created_ts bigint NOT NULL
);

CREATE TABLE registration_tokens (
  token text PRIMARY KEY,
  uses_allowed integer,
  completed integer NOT NULL DEFAULT 0,
  expiry_ts bigint,
  created_ts bigint NOT NULL
);

CREATE TABLE account_data (
  user_id text NOT NULL,
  -- '' for global account data
  room_id text NOT NULL DEFAULT '',
  type text NOT NULL,
  content jsonb NOT NULL,
  stream_pos bigint NOT NULL,
  PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_stream ON account_data (user_id, stream_pos);

CREATE SEQUENCE filter_ids;
CREATE TABLE filters (
  user_id text NOT NULL,
  filter_id text NOT NULL,
  definition jsonb NOT NULL,
  PRIMARY KEY (user_id, filter_id)
);
