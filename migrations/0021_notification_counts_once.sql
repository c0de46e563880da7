-- Up Migration
-- notification_counts (0015) looked up the user's receipts once per counted notification (the thread test was an
-- anti-join per row): a /sync of a room with N unread notifications made N receipt lookups, about four buffers each
-- (docs/performance.md). The latest receipt of each thread is now read once and joined; the result is the same.
CREATE OR REPLACE FUNCTION notification_counts(p_room text, p_user text, p_upto bigint) RETURNS TABLE (notify_count integer, highlight_count integer)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::int, (count(*) FILTER (WHERE x.highlight))::int FROM notifications x
  LEFT JOIN (SELECT r.thread_id, max(r.event_stream_pos) AS pos FROM receipts r
             WHERE r.room_id = p_room AND r.user_id = p_user AND r.receipt_type IN ('m.read', 'm.read.private')
             GROUP BY r.thread_id) t ON t.thread_id = x.thread_id
  WHERE x.user_id = p_user AND x.room_id = p_room AND x.stream_pos <= p_upto
    AND x.stream_pos > COALESCE((SELECT max(event_stream_pos) FROM receipts
      WHERE room_id = p_room AND user_id = p_user AND receipt_type IN ('m.read', 'm.read.private') AND thread_id = ''), 0)
    AND (t.pos IS NULL OR x.stream_pos > t.pos)
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION notification_counts(p_room text, p_user text, p_upto bigint) RETURNS TABLE (notify_count integer, highlight_count integer)
LANGUAGE sql STABLE AS $$
  SELECT count(*)::int, (count(*) FILTER (WHERE x.highlight))::int FROM notifications x
  WHERE x.user_id = p_user AND x.room_id = p_room AND x.stream_pos <= p_upto
    AND x.stream_pos > COALESCE((SELECT max(event_stream_pos) FROM receipts
      WHERE room_id = p_room AND user_id = p_user AND receipt_type IN ('m.read', 'm.read.private') AND thread_id = ''), 0)
    AND NOT EXISTS (SELECT 1 FROM receipts r
      WHERE r.room_id = p_room AND r.user_id = p_user AND r.receipt_type IN ('m.read', 'm.read.private')
        AND r.thread_id = x.thread_id AND r.event_stream_pos >= x.stream_pos)
$$;
