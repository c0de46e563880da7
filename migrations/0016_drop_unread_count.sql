-- Up Migration
-- unread_notifications now come from the stored notifications (notification_counts, 0015): the count of every
-- message from others (0009) and the index it read go, and with it that index's cost on every event insert.
DROP FUNCTION unread_count(text, text, bigint);
DROP INDEX events_room_messages;

-- Down Migration
CREATE FUNCTION unread_count(p_room text, p_user text, p_upto bigint) RETURNS TABLE (n integer)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::int FROM events
  WHERE room_id = p_room AND state_key IS NULL AND sender <> p_user
    AND type NOT IN ('m.room.redaction', 'm.reaction')
    AND stream_pos <= p_upto
    AND stream_pos > GREATEST(
      (SELECT max(event_stream_pos) FROM receipts
        WHERE room_id = p_room AND user_id = p_user AND receipt_type IN ('m.read', 'm.read.private') AND thread_id IN ('', 'main')),
      (SELECT max(stream_pos) FROM events
        WHERE room_id = p_room AND type = 'm.room.member' AND state_key = p_user AND stream_pos <= p_upto
          AND content->>'membership' = 'join' AND (unsigned->'prev_content'->>'membership') IS DISTINCT FROM 'join'),
      0)
$$;
CREATE INDEX events_room_messages ON events (room_id, stream_pos) INCLUDE (sender, type) WHERE state_key IS NULL;
