-- Up Migration
-- Rooms and their events. History is linear per room (one server): each event's prev_events is the previous
-- event, and its stream_pos (from the one stream) orders it among everything /sync reads.
CREATE TABLE rooms (
  room_id text PRIMARY KEY,
  room_version text NOT NULL,
  creator text NOT NULL,
  created_ts bigint NOT NULL,
  -- the room's latest event and depth; a writer locks this row, so a room's events are appended one at a time
  last_event_id text,
  last_depth bigint NOT NULL DEFAULT 0
);

CREATE TABLE events (
  stream_pos bigint PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  room_id text NOT NULL REFERENCES rooms ON DELETE CASCADE,
  type text NOT NULL,
  -- NULL for message events
  state_key text,
  sender text NOT NULL,
  origin_server_ts bigint NOT NULL,
  depth bigint NOT NULL,
  content jsonb NOT NULL,
  prev_events text[] NOT NULL,
  -- prev_content / replaces_state of state events, redacted_because once redacted
  unsigned jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- the event this m.room.redaction redacts
  redacts text
);
CREATE INDEX events_room_pos ON events (room_id, stream_pos);
CREATE INDEX events_room_state ON events (room_id, type, state_key, stream_pos) WHERE state_key IS NOT NULL;

-- The head of each room's state, for fast reads of current state and of who is in which room.
CREATE TABLE current_state (
  room_id text NOT NULL REFERENCES rooms ON DELETE CASCADE,
  type text NOT NULL,
  state_key text NOT NULL,
  event_id text NOT NULL,
  stream_pos bigint NOT NULL,
  -- content.membership of m.room.member events
  membership text,
  PRIMARY KEY (room_id, type, state_key)
);
CREATE INDEX current_state_members ON current_state (state_key, membership) WHERE type = 'm.room.member';

-- Client transaction ids, per device and per request path (spec: scoped to the endpoint): a retried send
-- returns the first event id. scope is e.g. send/<room>/<type> or redact/<room>/<event>.
CREATE TABLE event_txns (
  user_id text NOT NULL,
  device_id text NOT NULL,
  scope text NOT NULL,
  txn_id text NOT NULL,
  event_id text NOT NULL,
  PRIMARY KEY (user_id, device_id, scope, txn_id)
);

CREATE TABLE room_aliases (
  room_alias text PRIMARY KEY,
  room_id text NOT NULL REFERENCES rooms ON DELETE CASCADE,
  creator text NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);

-- Rooms a user has forgotten (after leaving): they disappear from /sync's leave section.
CREATE TABLE forgotten_rooms (
  user_id text NOT NULL,
  room_id text NOT NULL REFERENCES rooms ON DELETE CASCADE,
  PRIMARY KEY (user_id, room_id)
);
