/**
 * One read for a /sync: the watermark and, in the same statement (so one snapshot: everything it returns is
 * consistent with the watermark), what each stream has for the user and device since the client's position.
 * Most long-polls find nothing new; this lets them know it in one round trip, and lets a woken sync read only the
 * rooms and sections that changed. It also deletes the to-device messages the client's token acknowledged.
 */
import type { Db } from './database.js';
import type { TimelineRow } from './events.js';
import type { AccountDataRow } from './account-data.js';
import type { MembershipRow } from './rooms.js';
import type { ToDeviceRow } from './to-device.js';

export interface SyncSnapshot {
  /** With `confirmToken`: the token's expiry and whether its user is deactivated; undefined when it is gone. */
  token: { expiresTs: number | null; deactivated: boolean } | undefined;
  /** The watermark: every write at or below it has committed, and nothing above it is read. */
  head: number;
  /** The user's membership in every room they have a member event in (as of the watermark). */
  memberships: MembershipRow[];
  forgotten: Set<string>;
  /** Global and room account data changed in (since, head]. */
  accountData: AccountDataRow[];
  /** When the user's push rules last changed; undefined if never. */
  pushRulesPos: number | undefined;
  /** The device's first `toDeviceLimit` unacknowledged messages up to the watermark, in order. */
  toDevice: ToDeviceRow[];
  /** Whether any device list or membership changed anywhere in (since, head] (false on an initial sync). */
  deviceListActivity: boolean;
  oneTimeKeyCounts: Record<string, number>;
  unusedFallbackKeyTypes: string[];
  /** Rooms the user is or was in with events in (since, head]; undefined on an initial sync (every room is read). */
  roomsWithEvents: Set<string> | undefined;
  /** Rooms the user is or was in whose receipts changed in (since, head]; undefined on an initial sync. */
  roomsWithReceipts: Set<string> | undefined;
  /**
   * For each room the user was joined to throughout (since, head] that has events in it: the newest
   * `timelineFetch` of those events (oldest first) and the room's unread count at the watermark.
   */
  steadyRooms: Map<string, { events: TimelineRow[]; unread: number }>;
}

interface Raw {
  token: { expiresTs: number | null; deactivated: boolean } | null;
  head: number;
  memberships: [string, string, number, string][];
  forgotten: string[];
  accountData: { room_id: string; type: string; content: Record<string, unknown>; stream_pos: number }[];
  pushRulesPos: number | null;
  toDevice: { message_id: number; stream_pos: number; sender: string; type: string; content: Record<string, unknown> }[];
  deviceListActivity: boolean;
  keyCounts: { kind: 'otk' | 'fallback'; algorithm: string; n: number }[];
  roomsWithEvents: string[] | null;
  roomsWithReceipts: string[] | null;
  steadyRooms: [string, TimelineRow[], number][];
}

/**
 * Parameters, each named once (a tagged template would send one per mention: a Bind past WRITTEN_AT_ONCE_BYTES, which
 * postgres.js writes at once instead of with the other queries of the same turn, db/write-size.ts): $1 user, $2 device, $3 since (-1
 * on an initial sync), $4 incremental, $5 whether a to-device ack came, $6 the ack, $7 to-device limit, $8 timeline
 * fetch, $9 whether to confirm the token, $10 its hash.
 * The DELETE runs in the same statement; its rows stay visible to the statement's snapshot, hence message_id > ack.
 */
const SNAPSHOT_SQL = `
    WITH h AS (SELECT pos FROM stream_head LIMIT 1),
    acked AS (
      DELETE FROM to_device_inbox WHERE $5::boolean AND user_id = $1::text AND device_id = $2::text AND message_id <= $6::bigint
    ),
    mine AS (SELECT room_id, membership, stream_pos, event_id FROM current_state WHERE type = 'm.room.member' AND state_key = $1::text)
    SELECT
      CASE WHEN $9::boolean THEN (
        SELECT json_build_object('expiresTs', a.expires_ts, 'deactivated', u.deactivated)
        FROM access_tokens a JOIN users u USING (user_id)
        WHERE a.token_hash = $10::bytea AND a.user_id = $1::text AND a.device_id = $2::text) END AS token,
      h.pos AS head,
      (SELECT coalesce(json_agg(json_build_array(room_id, membership, stream_pos, event_id)), '[]') FROM mine) AS memberships,
      (SELECT coalesce(array_agg(room_id), '{}') FROM forgotten_rooms WHERE user_id = $1::text) AS forgotten,
      (SELECT coalesce(json_agg(a ORDER BY a.stream_pos), '[]') FROM (
        SELECT room_id, type, content, stream_pos FROM account_data
        WHERE user_id = $1::text AND stream_pos > $3::bigint AND stream_pos <= h.pos) a) AS account_data,
      (SELECT stream_pos FROM push_rules_stream WHERE user_id = $1::text) AS push_rules_pos,
      (SELECT coalesce(json_agg(t ORDER BY t.stream_pos, t.message_id), '[]') FROM (
        SELECT message_id, stream_pos, sender, type, content FROM to_device_inbox
        WHERE user_id = $1::text AND device_id = $2::text AND stream_pos <= h.pos AND message_id > $6::bigint
        ORDER BY stream_pos, message_id LIMIT $7::int) t) AS to_device,
      $4::boolean AND (
        EXISTS (SELECT 1 FROM device_list_changes WHERE stream_pos > $3::bigint AND stream_pos <= h.pos)
        OR EXISTS (SELECT 1 FROM events WHERE stream_pos > $3::bigint AND stream_pos <= h.pos AND type = 'm.room.member')
      ) AS device_list_activity,
      (SELECT coalesce(json_agg(k), '[]') FROM (
        SELECT 'otk' AS kind, algorithm, count(*)::int AS n FROM one_time_keys WHERE user_id = $1::text AND device_id = $2::text GROUP BY algorithm
        UNION ALL
        SELECT 'fallback', algorithm, 0 FROM fallback_keys WHERE user_id = $1::text AND device_id = $2::text AND NOT used) k) AS key_counts,
      CASE WHEN $4::boolean THEN (
        SELECT coalesce(array_agg(DISTINCT e.room_id), '{}') FROM events e
        WHERE e.stream_pos > $3::bigint AND e.stream_pos <= h.pos AND e.room_id IN (SELECT room_id FROM mine)) END AS rooms_with_events,
      CASE WHEN $4::boolean THEN (
        SELECT coalesce(array_agg(DISTINCT r.room_id), '{}') FROM receipts r
        WHERE r.room_id IN (SELECT room_id FROM mine) AND r.stream_pos > $3::bigint AND r.stream_pos <= h.pos) END AS rooms_with_receipts,
      (SELECT coalesce(json_agg(json_build_array(m.room_id, (
          SELECT json_agg(json_build_object(
            'streamPos', e.stream_pos, 'eventId', e.event_id, 'roomId', e.room_id, 'type', e.type, 'stateKey', e.state_key,
            'sender', e.sender, 'originServerTs', e.origin_server_ts, 'depth', e.depth, 'content', e.content,
            'prevEvents', e.prev_events, 'unsigned', e.unsigned, 'redacts', e.redacts, 'hasChildren', e.has_children) ORDER BY e.stream_pos)
          FROM (
            SELECT ev.*, EXISTS (SELECT 1 FROM event_relations r WHERE r.relates_to_id = ev.event_id) AS has_children FROM events ev
            WHERE ev.room_id = m.room_id AND ev.stream_pos > $3::bigint AND ev.stream_pos <= h.pos
            ORDER BY ev.stream_pos DESC LIMIT $8::int) e
        ), (SELECT n FROM unread_count(m.room_id, $1::text, h.pos)))), '[]')
        FROM mine m
        WHERE $4::boolean AND m.membership = 'join' AND m.stream_pos <= $3::bigint
          AND EXISTS (SELECT 1 FROM events x WHERE x.room_id = m.room_id AND x.stream_pos > $3::bigint AND x.stream_pos <= h.pos)
      ) AS steady_rooms
    FROM h
`;

export async function selectSyncSnapshot(
  db: Db,
  q: {
    userId: string;
    deviceId: string;
    since: number | undefined;
    toDeviceAck: number | undefined;
    toDeviceLimit: number;
    timelineFetch: number;
    /** The hash of an access token to check in the same statement (a session from the cache). */
    confirmToken?: Buffer;
  },
): Promise<SyncSnapshot> {
  const params = [
    q.userId, q.deviceId, q.since ?? -1, q.since !== undefined, q.toDeviceAck !== undefined, q.toDeviceAck ?? 0,
    q.toDeviceLimit, q.timelineFetch, q.confirmToken !== undefined, q.confirmToken ?? Buffer.alloc(0),
  ];
  const [raw] = (await db.unsafe(SNAPSHOT_SQL, params as never[], { prepare: true })) as unknown as Raw[];
  const counts = raw.keyCounts.filter((k) => k.kind === 'otk');
  return {
    token: raw.token ?? undefined,
    head: raw.head,
    memberships: raw.memberships.map(([roomId, membership, streamPos, eventId]) => ({ roomId, membership, streamPos, eventId })),
    forgotten: new Set(raw.forgotten),
    accountData: raw.accountData.map((a) => ({ roomId: a.room_id, type: a.type, content: a.content, streamPos: a.stream_pos })),
    pushRulesPos: raw.pushRulesPos ?? undefined,
    toDevice: raw.toDevice.map((t) => ({ messageId: t.message_id, streamPos: t.stream_pos, sender: t.sender, type: t.type, content: t.content })),
    deviceListActivity: raw.deviceListActivity,
    oneTimeKeyCounts: Object.fromEntries(counts.map((k) => [k.algorithm, k.n])),
    unusedFallbackKeyTypes: raw.keyCounts.filter((k) => k.kind === 'fallback').map((k) => k.algorithm).sort(),
    roomsWithEvents: raw.roomsWithEvents ? new Set(raw.roomsWithEvents) : undefined,
    roomsWithReceipts: raw.roomsWithReceipts ? new Set(raw.roomsWithReceipts) : undefined,
    steadyRooms: new Map(raw.steadyRooms.map(([roomId, events, unread]) => [roomId, { events, unread }])),
  };
}
