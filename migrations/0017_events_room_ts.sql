-- Up Migration
-- GET /rooms/{roomId}/timestamp_to_event (spec v1.6, relay/rooms/timestamp-to-event.ts): the events of a room in
-- origin_server_ts order, from a timestamp forwards or backwards, read a few at a time (stream_pos breaks ties).
CREATE INDEX events_room_ts ON events (room_id, origin_server_ts, stream_pos);

-- Down Migration
DROP INDEX events_room_ts;
