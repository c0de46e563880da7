-- Up Migration
-- Read receipts (m.read, m.read.private): one per user, room, type and thread ('' = unthreaded, 'main', or a thread
-- root's event id), stamped with the stream position of its last change so /sync delivers it.
CREATE TABLE receipts (
  room_id text NOT NULL REFERENCES rooms ON DELETE CASCADE,
  user_id text NOT NULL,
  receipt_type text NOT NULL,
  thread_id text NOT NULL DEFAULT '',
  event_id text NOT NULL,
  -- the receipted event's stream position: receipts only move forward, and unread counts start after it
  event_stream_pos bigint NOT NULL,
  ts bigint NOT NULL,
  stream_pos bigint NOT NULL,
  PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
);
-- /sync: the receipts of the user's rooms that changed in (since, head]
CREATE INDEX receipts_room_pos ON receipts (room_id, stream_pos);
