-- Up Migration
-- Simplified sliding sync (MSC4186, relay/sliding-sync/): what each connection (user, device, conn_id) was sent, so
-- that any server process can answer its next request. A response's `pos` names a generation of its connection; the
-- rows of a generation say what the client has once it holds that pos. When the client comes back with a pos, the
-- rows of later generations (responses it never processed) are deleted and older rows it superseded are folded away,
-- so a connection keeps at most two generations (docs/sliding-sync.md).
CREATE TABLE sliding_sync_connections (
  connection_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text NOT NULL,
  device_id text NOT NULL,
  conn_id text NOT NULL,
  -- the newest generation handed out (generations are never reused), and the one the client last came back with
  latest_gen bigint NOT NULL DEFAULT 0,
  acked_gen bigint NOT NULL DEFAULT 0,
  last_used_ts bigint NOT NULL,
  UNIQUE (user_id, device_id, conn_id),
  FOREIGN KEY (user_id, device_id) REFERENCES devices ON DELETE CASCADE
);
-- expiry of connections not used for a long time
CREATE INDEX sliding_sync_connections_used ON sliding_sync_connections (last_used_ts);

-- The sticky request parameters (lists, room subscriptions, extensions) as of each generation.
CREATE TABLE sliding_sync_positions (
  connection_id bigint NOT NULL REFERENCES sliding_sync_connections ON DELETE CASCADE,
  gen bigint NOT NULL,
  params jsonb NOT NULL,
  PRIMARY KEY (connection_id, gen)
);

-- Per room: the stream position up to which its timeline and state were sent, the membership it was sent with, the
-- room config (required_state, timeline_limit) it was sent with, and the members sent lazily. A room's row of the
-- newest generation at or below the client's names what the client has.
CREATE TABLE sliding_sync_rooms (
  connection_id bigint NOT NULL REFERENCES sliding_sync_connections ON DELETE CASCADE,
  room_id text NOT NULL,
  gen bigint NOT NULL,
  sent_pos bigint NOT NULL,
  membership text NOT NULL,
  config jsonb NOT NULL,
  lazy_members text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (connection_id, room_id, gen)
);
-- a pos's clean-up: the rows of the generations after it, and those written since the previous clean-up
CREATE INDEX sliding_sync_rooms_gen ON sliding_sync_rooms (connection_id, gen);

-- The room list's order (bump_stamp): the newest event of a bumping type per room, one index probe per room.
CREATE INDEX events_room_bump ON events (room_id, stream_pos)
  WHERE type IN ('m.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info');

-- Down Migration
DROP INDEX events_room_bump;
DROP TABLE sliding_sync_rooms;
DROP TABLE sliding_sync_positions;
DROP TABLE sliding_sync_connections;
