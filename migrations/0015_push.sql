-- Up Migration
-- Push notifications. A pusher is one device's registration with a push gateway (POST /pushers/set), bound to the
-- device that set it: deleting the device (logout) deletes its pushers. A notification is one event whose push rules
-- said notify for one user, written in the event's own transaction; /sync's unread_notifications and
-- GET /notifications read them, and the delivery job pushes each one once per pusher (pushers.last_stream_pos).
CREATE TABLE pushers (
  pusher_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text NOT NULL,
  device_id text NOT NULL,
  -- http only (email pushers are refused)
  kind text NOT NULL,
  app_id text NOT NULL,
  pushkey text NOT NULL,
  -- when the pushkey was set, in milliseconds (the gateway gets seconds)
  pushkey_ts bigint NOT NULL,
  app_display_name text NOT NULL,
  device_display_name text NOT NULL,
  profile_tag text,
  lang text NOT NULL,
  -- the pusher's data as the client set it (url and format); the gateway gets it without url
  data jsonb NOT NULL,
  -- delivery: the last notification's stream position pushed (or skipped), consecutive failures, the next try
  last_stream_pos bigint NOT NULL,
  failures integer NOT NULL DEFAULT 0,
  next_attempt_ts bigint NOT NULL DEFAULT 0,
  -- a delivery run's claim: which process holds the pusher and until when (a crashed process's claim expires)
  lease_owner text,
  lease_until_ts bigint NOT NULL DEFAULT 0,
  UNIQUE (user_id, app_id, pushkey),
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
CREATE INDEX pushers_key ON pushers (app_id, pushkey);

-- One row per (event, notified user). thread_id: 'main', or the thread root's event id (threaded read receipts).
-- No foreign key to events: its check would run per row inside the send's transaction, while the stream head is
-- locked; the paths that delete events (retention, room purge) delete their notifications themselves.
CREATE TABLE notifications (
  stream_pos bigint NOT NULL,
  user_id text NOT NULL,
  room_id text NOT NULL,
  event_id text NOT NULL,
  thread_id text NOT NULL,
  highlight boolean NOT NULL,
  actions jsonb NOT NULL,
  ts bigint NOT NULL,
  PRIMARY KEY (stream_pos, user_id)
);
-- counts per room (sync), and a user's notifications in order (GET /notifications, delivery)
CREATE INDEX notifications_user_room ON notifications (user_id, room_id, stream_pos) INCLUDE (highlight, thread_id);
CREATE INDEX notifications_user ON notifications (user_id, stream_pos);

-- unread_notifications of a room for a user, up to a stream position: the notifications after the user's latest
-- unthreaded read receipt (public or private) and after the latest receipt in the notification's own thread.
-- A SQL function returning a table, inlined into the calling query (docs/database.md); the thread test is an anti-join.
CREATE FUNCTION notification_counts(p_room text, p_user text, p_upto bigint) RETURNS TABLE (notify_count integer, highlight_count integer)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::int, (count(*) FILTER (WHERE x.highlight))::int FROM notifications x
  WHERE x.user_id = p_user AND x.room_id = p_room AND x.stream_pos <= p_upto
    AND x.stream_pos > COALESCE((SELECT max(event_stream_pos) FROM receipts
      WHERE room_id = p_room AND user_id = p_user AND receipt_type IN ('m.read', 'm.read.private') AND thread_id = ''), 0)
    AND NOT EXISTS (SELECT 1 FROM receipts r
      WHERE r.room_id = p_room AND r.user_id = p_user AND r.receipt_type IN ('m.read', 'm.read.private')
        AND r.thread_id = x.thread_id AND r.event_stream_pos >= x.stream_pos)
$$;

-- Down Migration
DROP FUNCTION notification_counts(text, text, bigint);
DROP TABLE notifications;
DROP TABLE pushers;
