-- Up Migration
-- The media repository (relay/media/). One row per media id: who uploaded it, its size, content type and sha256
-- (the blob store's address: equal bytes are stored once), the file name given at upload, and when it was created
-- and last downloaded (retention works on these: the server cannot tell which event refers to an encrypted blob).
-- A media id made by POST /_matrix/media/v1/create is 'pending' until its one upload, and expires unused.
CREATE TABLE media (
  media_id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users,
  state text NOT NULL CHECK (state IN ('pending', 'complete')),
  content_type text,
  filename text,
  size bigint,
  sha256 text,
  created_ts bigint NOT NULL,
  last_access_ts bigint NOT NULL,
  unused_expires_ts bigint,
  CHECK ((state = 'complete') = (sha256 IS NOT NULL AND size IS NOT NULL))
);
CREATE INDEX media_user ON media (user_id);
CREATE INDEX media_sha256 ON media (sha256);
CREATE INDEX media_last_access ON media (last_access_ts) WHERE state = 'complete';
CREATE INDEX media_pending ON media (unused_expires_ts) WHERE state = 'pending';

-- Thumbnails of plaintext images (avatars), made once per size and method and kept in the blob store too.
CREATE TABLE media_thumbnails (
  media_id text NOT NULL REFERENCES media ON DELETE CASCADE,
  width int NOT NULL,
  height int NOT NULL,
  method text NOT NULL CHECK (method IN ('crop', 'scale')),
  content_type text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  PRIMARY KEY (media_id, width, height, method)
);
CREATE INDEX media_thumbnails_sha256 ON media_thumbnails (sha256);

-- MEDIA_STORE=postgres: each blob in chunks of 256 KiB, keyed by its sha256 once complete. While an upload is
-- still being written its chunks are keyed 'staging:<uuid>', with a media_staging row saying since when, so
-- chunks of an upload cut short (a crash, a dropped connection) are found and deleted.
CREATE TABLE media_chunks (
  blob_key text NOT NULL,
  seq int NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (blob_key, seq)
);
CREATE TABLE media_staging (
  blob_key text PRIMARY KEY,
  created_ts bigint NOT NULL
);
-- Ciphertext does not compress: store chunks out of line without trying.
ALTER TABLE media_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
