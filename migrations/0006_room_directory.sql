-- Up Migration
-- The published room directory (GET/POST /publicRooms): rooms listed by a room admin, a server admin, or createRoom
-- with visibility "public". What the directory shows of a room is read from its current state at request time.
CREATE TABLE published_rooms (
  room_id text PRIMARY KEY REFERENCES rooms ON DELETE CASCADE,
  published_ts bigint NOT NULL
);
