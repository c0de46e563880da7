-- Up Migration
-- The unread count of a room for a user (spec: unread_notifications), in one place for every query that needs it:
-- message events from others after the user's latest unthreaded or main-timeline read receipt (public or private)
-- and after they last joined, up to a stream position. Redactions and reactions do not count; the server cannot
-- read ciphertext, so every encrypted message counts.
-- PL/pgSQL, not SQL: a SQL function with a FROM clause is not inlined, and is parsed and planned again on every call;
-- PL/pgSQL keeps the plan of its query for the session.
CREATE FUNCTION unread_count(p_room text, p_user text, p_upto bigint) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT count(*)::int FROM events
  WHERE room_id = p_room AND state_key IS NULL AND sender <> p_user
    AND type NOT IN ('m.room.redaction', 'm.reaction')
    AND stream_pos <= p_upto
    AND stream_pos > GREATEST(
      (SELECT max(event_stream_pos) FROM receipts
        WHERE room_id = p_room AND user_id = p_user AND receipt_type IN ('m.read', 'm.read.private') AND thread_id IN ('', 'main')),
      (SELECT max(stream_pos) FROM events
        WHERE room_id = p_room AND type = 'm.room.member' AND state_key = p_user AND stream_pos <= p_upto
          AND content->>'membership' = 'join' AND (unsigned->'prev_content'->>'membership') IS DISTINCT FROM 'join'),
      0));
END
$$;

-- Down Migration
DROP FUNCTION unread_count(text, text, bigint);
