-- Up Migration
-- The unread count of a room for a user (spec: unread_notifications), in one place for every query that needs it:
-- message events from others after the user's latest unthreaded or main-timeline read receipt (public or private)
-- and after they last joined, up to a stream position. Redactions and reactions do not count; the server cannot
-- read ciphertext, so every encrypted message counts.
-- A SQL function returning a table, used as `(SELECT n FROM unread_count(...))`: PostgreSQL inlines it into the
-- calling query, so it is planned once with it. (A scalar SQL function with FROM is not inlined and is parsed and
-- planned on every call; a PL/pgSQL one pays an executor start per call.)
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

-- The count reads this index alone, not every event row (a user who sends no read receipts has every message to count).
CREATE INDEX events_room_messages ON events (room_id, stream_pos) INCLUDE (sender, type) WHERE state_key IS NULL;

-- Down Migration
DROP INDEX events_room_messages;
DROP FUNCTION unread_count(text, text, bigint);
