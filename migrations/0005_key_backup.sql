-- Up Migration
-- Server-side key backup: only encrypted session data (the server never has the backup's private key).
CREATE TABLE key_backup_versions (
  user_id text NOT NULL,
  version bigint NOT NULL,
  algorithm text NOT NULL,
  auth_data jsonb NOT NULL,
  -- bumped on every change of the version's keys
  etag bigint NOT NULL DEFAULT 0,
  -- deleted versions keep their number, so a version number is never reused
  deleted boolean NOT NULL DEFAULT false,
  PRIMARY KEY (user_id, version)
);

CREATE TABLE key_backup_sessions (
  user_id text NOT NULL,
  version bigint NOT NULL,
  room_id text NOT NULL,
  session_id text NOT NULL,
  first_message_index integer NOT NULL,
  forwarded_count integer NOT NULL,
  is_verified boolean NOT NULL,
  session_data jsonb NOT NULL,
  PRIMARY KEY (user_id, version, room_id, session_id),
  FOREIGN KEY (user_id, version) REFERENCES key_backup_versions ON DELETE CASCADE
);
