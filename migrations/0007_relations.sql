-- Up Migration
-- Event relationships (spec: "Forming relationships between events"): one row per event whose content carries a
-- clear m.relates_to {rel_type, event_id} (it stays outside the Megolm ciphertext). A redacted relation is deleted.
CREATE TABLE event_relations (
  event_id text PRIMARY KEY REFERENCES events (event_id) ON DELETE CASCADE,
  room_id text NOT NULL REFERENCES rooms ON DELETE CASCADE,
  -- the parent: the event this one relates to (not checked to exist: it may be in another room, then it never matches)
  relates_to_id text NOT NULL,
  rel_type text NOT NULL,
  -- the child's event type (m.room.encrypted for encrypted children) and sender
  type text NOT NULL,
  sender text NOT NULL,
  stream_pos bigint NOT NULL
);
CREATE INDEX event_relations_parent ON event_relations (relates_to_id, rel_type, stream_pos);
CREATE INDEX event_relations_parent_pos ON event_relations (relates_to_id, stream_pos);
-- the threads of a room (GET /threads)
CREATE INDEX event_relations_room ON event_relations (room_id, rel_type, relates_to_id, stream_pos);

-- Events stored before this migration.
INSERT INTO event_relations (event_id, room_id, relates_to_id, rel_type, type, sender, stream_pos)
SELECT event_id, room_id, content->'m.relates_to'->>'event_id', content->'m.relates_to'->>'rel_type', type, sender, stream_pos
FROM events
WHERE jsonb_typeof(content->'m.relates_to') = 'object'
  AND jsonb_typeof(content->'m.relates_to'->'rel_type') = 'string'
  AND jsonb_typeof(content->'m.relates_to'->'event_id') = 'string'
  AND content->'m.relates_to'->>'rel_type' <> ''
  AND length(content->'m.relates_to'->>'rel_type') <= 255
  AND content->'m.relates_to'->>'event_id' LIKE '$%'
  AND unsigned->'redacted_because' IS NULL;
