-- Up Migration
-- OpenID tokens (POST /user/{userId}/openid/request_token): short-lived proofs of identity a user hands to a third
-- party (a widget, Element Call's token service), which asks /_matrix/federation/v1/openid/userinfo who it names.
-- Only the SHA-256 hash of the token is kept; they are not access tokens and live apart from them.
CREATE TABLE openid_tokens (
  token_hash bytea PRIMARY KEY,
  user_id text NOT NULL REFERENCES users ON DELETE CASCADE,
  expires_ts bigint NOT NULL
);
-- expired tokens are deleted whenever a new one is issued
CREATE INDEX openid_tokens_expiry ON openid_tokens (expires_ts);
