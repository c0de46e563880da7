-- Up Migration
-- Lazy-loading room members (relay/sync/lazy-members.ts): which m.room.member event of which member each device was
-- sent by /sync, and at which stream position (the response's next_batch). A row counts only for a sync whose token
-- is at or after that position; rows after the token of a sync (a lost response, an older token) are deleted by that
-- sync, and an initial sync deletes the device's rows. Bounded per device and room; a missing row only means that the
-- member is sent again.
CREATE TABLE lazy_members_sent (
  user_id text NOT NULL,
  device_id text NOT NULL,
  room_id text NOT NULL,
  member_id text NOT NULL,
  event_id text NOT NULL,
  sent_pos bigint NOT NULL,
  PRIMARY KEY (user_id, device_id, room_id, member_id),
  FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX lazy_members_sent_pos ON lazy_members_sent (user_id, device_id, sent_pos);
CREATE INDEX lazy_members_sent_room_pos ON lazy_members_sent (user_id, device_id, room_id, sent_pos);
