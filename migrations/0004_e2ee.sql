-- Up Migration
-- End-to-end encryption plumbing: public keys only. Every change other users must hear about writes a
-- device_list_changes row at a stream position, in the same transaction as the change.

CREATE TABLE device_keys (
  user_id text NOT NULL,
  device_id text NOT NULL,
  -- the DeviceKeys object as uploaded (signed by the device), plus signatures added later
  key_json jsonb NOT NULL,
  PRIMARY KEY (user_id, device_id),
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);

CREATE TABLE one_time_keys (
  user_id text NOT NULL,
  device_id text NOT NULL,
  -- algorithm:key_id
  key_id text NOT NULL,
  algorithm text NOT NULL,
  key_json jsonb NOT NULL,
  -- upload order: keys are claimed oldest first
  seq bigserial NOT NULL,
  PRIMARY KEY (user_id, device_id, key_id),
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE INDEX one_time_keys_claim ON one_time_keys (user_id, device_id, algorithm, seq);

CREATE TABLE fallback_keys (
  user_id text NOT NULL,
  device_id text NOT NULL,
  algorithm text NOT NULL,
  key_id text NOT NULL,
  key_json jsonb NOT NULL,
  used boolean NOT NULL DEFAULT false,
  PRIMARY KEY (user_id, device_id, algorithm),
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);

CREATE TABLE cross_signing_keys (
  user_id text NOT NULL,
  -- master | self_signing | user_signing
  key_type text NOT NULL,
  key_json jsonb NOT NULL,
  PRIMARY KEY (user_id, key_type)
);

-- A user's devices or cross-signing keys changed at this position.
CREATE TABLE device_list_changes (
  stream_pos bigint NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (user_id, stream_pos)
);
CREATE INDEX device_list_changes_pos ON device_list_changes (stream_pos);

-- To-device messages wait here until the recipient device acknowledges them (a sync with a later token).
CREATE TABLE to_device_inbox (
  message_id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  device_id text NOT NULL,
  stream_pos bigint NOT NULL,
  sender text NOT NULL,
  type text NOT NULL,
  content jsonb NOT NULL,
  -- for retention: undelivered messages older than the retention lifetime are deleted
  created_ts bigint NOT NULL DEFAULT (extract(epoch from now()) * 1000)::bigint,
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE INDEX to_device_inbox_device ON to_device_inbox (user_id, device_id, stream_pos, message_id);

CREATE TABLE to_device_txns (
  user_id text NOT NULL,
  device_id text NOT NULL,
  txn_id text NOT NULL,
  PRIMARY KEY (user_id, device_id, txn_id)
);
