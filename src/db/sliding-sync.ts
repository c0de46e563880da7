/**
 * Sliding sync connection state (migrations 0019, 0022 and 0023, relay/sliding-sync/engine.ts): connections, the
 * sticky parameters, the stream position and the room extensions' scope record of each generation, and per room what
 * the client holds (with the receipts' and account data's positions of a room out of their scope,
 * relay/sliding-sync/extensions/scope-changes.ts); and the one statement that reads the user's room list
 * (memberships, bump stamps, encryption, room type) at the watermark.
 */
import type { Db, Sql } from './database.js';
import { TIMELINE_ROW_JSON, type EventRow, type TimelineRow } from './events.js';
import { transaction } from './database.js';

/** Event types that bump a room in the list (MSC4186 `bump_stamp`; Synapse's default set). Index: migration 0019. */
export const BUMP_TYPES = ['m.room.create', 'm.room.message', 'm.room.encrypted', 'm.sticker', 'm.call.invite', 'm.poll.start', 'm.beacon_info'];

/** The bump types as a literal condition on `b.type`: the partial index's predicate, which a parameter could not match. */
const BUMPING = `b.type IN (${BUMP_TYPES.map((t) => `'${t}'`).join(', ')})`;

/**
 * A new connection for (user, device, conn_id), replacing any before it; connections beyond `maxPerDevice` and those
 * unused since `expireBefore` go. New connections of one device are serialized (an advisory lock on the device): two
 * requests without a pos racing for one conn_id would otherwise both find no row to replace and both insert (a unique
 * violation); the later one now replaces the earlier, whose pos is then unknown. Expired rows another creation is
 * deleting are skipped, so two creations never wait on each other's expiry sweep.
 */
export async function createConnection(sql: Sql, c: { userId: string; deviceId: string; connId: string; now: number; maxPerDevice: number; expireBefore: number }): Promise<number> {
  return transaction(sql, async (tx) => {
    // Pipelined: the lock is taken before the DELETE runs (one connection runs its statements in order).
    await Promise.all([
      tx`SELECT pg_advisory_xact_lock(hashtextextended(${`sliding-sync:${c.userId} ${c.deviceId}`}, 0))`,
      tx`DELETE FROM sliding_sync_connections WHERE user_id = ${c.userId} AND device_id = ${c.deviceId} AND conn_id = ${c.connId}`,
    ]);
    await tx`
      WITH expired AS (SELECT connection_id FROM sliding_sync_connections WHERE last_used_ts < ${c.expireBefore} LIMIT 100 FOR UPDATE SKIP LOCKED)
      DELETE FROM sliding_sync_connections WHERE connection_id IN (
        (SELECT connection_id FROM expired)
        UNION ALL
        (SELECT connection_id FROM sliding_sync_connections WHERE user_id = ${c.userId} AND device_id = ${c.deviceId}
         ORDER BY last_used_ts DESC OFFSET ${c.maxPerDevice - 1}))`;
    const [row] = await tx<{ connectionId: number }[]>`
      INSERT INTO sliding_sync_connections (user_id, device_id, conn_id, last_used_ts)
      VALUES (${c.userId}, ${c.deviceId}, ${c.connId}, ${c.now}) RETURNING connection_id`;
    return Number(row.connectionId);
  });
}

/**
 * The client came back with a pos (connection, gen): its parameters as of that generation and the stream position
 * the generation was written at (null before migration 0022), or undefined when the connection or the generation is
 * gone. In the same statement: the rows of later generations (responses the client did not process) are deleted,
 * rows superseded by those written since the previous pos are folded away, and the connection is marked as used
 * (only when its acknowledged generation moves or its mark is older than `usedPrecisionMs`: most long-polls then
 * write nothing, so their statement commits without a WAL flush).
 */
export async function openConnection(
  db: Db,
  c: { userId: string; deviceId: string; connId: string; connection: number; gen: number; now: number; usedPrecisionMs: number },
): Promise<{ params: unknown; scope: unknown; latestGen: number; head: number | null } | undefined> {
  const [row] = await db<{ params: unknown; scope: unknown; latestGen: number; ackedGen: number; head: number | null }[]>`
    WITH conn AS (
      SELECT connection_id, acked_gen, latest_gen FROM sliding_sync_connections
      WHERE connection_id = ${c.connection} AND user_id = ${c.userId} AND device_id = ${c.deviceId} AND conn_id = ${c.connId}
    ),
    pos AS (
      SELECT p.params, p.head, p.scope FROM sliding_sync_positions p JOIN conn USING (connection_id) WHERE p.gen = ${c.gen}
    ),
    lost_rooms AS (
      DELETE FROM sliding_sync_rooms r USING conn, pos
      WHERE r.connection_id = conn.connection_id AND r.gen > ${c.gen}
    ),
    lost_positions AS (
      DELETE FROM sliding_sync_positions p USING conn, pos
      WHERE p.connection_id = conn.connection_id AND p.gen <> ${c.gen}
    ),
    superseded AS (
      DELETE FROM sliding_sync_rooms o USING conn, pos, sliding_sync_rooms n
      WHERE n.connection_id = conn.connection_id AND n.gen > conn.acked_gen AND n.gen <= ${c.gen}
        AND o.connection_id = conn.connection_id AND o.room_id = n.room_id AND o.gen < n.gen
    ),
    used AS (
      UPDATE sliding_sync_connections s SET last_used_ts = ${c.now}, acked_gen = GREATEST(s.acked_gen, ${c.gen})
      FROM pos WHERE s.connection_id = ${c.connection} AND (s.acked_gen < ${c.gen} OR s.last_used_ts < ${c.now - c.usedPrecisionMs})
    )
    SELECT pos.params, pos.head, pos.scope, conn.latest_gen, conn.acked_gen FROM conn, pos`;
  if (!row) return undefined;
  return { params: row.params, scope: row.scope, latestGen: Number(row.latestGen), head: row.head === null ? null : Number(row.head) };
}

export interface SentRoomRow {
  roomId: string;
  sentPos: number;
  membership: string;
  config: unknown;
  lazyMembers: string[];
  /**
   * For a room that left the receipts' (account_data's) scope: the stream position up to which the client has its
   * receipts (room account data); null when it has none of them, or while the room is in scope (unused then).
   */
  receiptsTo: number | null;
  accountDataTo: number | null;
}

/** A room whose newest row is written again with only these positions set (null keeps the row's). */
export interface CarriedRoomRow {
  roomId: string;
  receiptsTo: number | null;
  accountDataTo: number | null;
}

/** The global account data the room list needs (m.direct, m.ignored_user_list) and, with tags, each room's m.tag. */
export interface ListAccountData {
  direct: Record<string, unknown> | undefined;
  ignored: Record<string, unknown> | undefined;
  tags: Map<string, Record<string, unknown>>;
}

function accountDataOf(rows: { roomId: string; type: string; content: Record<string, unknown> }[]): ListAccountData {
  const global = (type: string) => rows.find((r) => r.roomId === '' && r.type === type)?.content;
  return { direct: global('m.direct'), ignored: global('m.ignored_user_list'), tags: new Map(rows.filter((r) => r.type === 'm.tag').map((r) => [r.roomId, r.content])) };
}

/**
 * What a request found the connection to hold of a room. A room its pos's generation wrote at the generation's own
 * stream position (`kept`) is taken as sent up to the pos's stream position: `sentPos` is that, not its row's
 * (docs/sliding-sync.md, "Responses that only advance timelines").
 */
export interface HeldRoom extends SentRoomRow {
  /** Events came after `sentPos`, up to the read's watermark. */
  changed: boolean;
  kept: boolean;
  /** Kept, and events came between its row's position and the pos's: a new generation must write it again. */
  advanced: boolean;
}

/** A room's unread notification and highlight counts (notification_counts, migration 0015). */
export interface RoomCounts {
  notifications: number;
  highlights: number;
}

function countsOf(rows: [string, number, number][]): Map<string, RoomCounts> {
  return new Map(rows.map(([roomId, notifications, highlights]) => [roomId, { notifications, highlights }]));
}

/**
 * For these rooms, what the client holds as of generation `gen` (whose kept rooms are taken as sent up to `since`,
 * the pos's stream position), and whether events came after it up to `head`; also every kept room of the generation
 * outside these rooms. With `accountOf`, in the same statement, that user's list account data (selectDirectAndTags
 * without tags), and the unread counts at `head` of the rooms it held joined that have events since (those a
 * response sends, read here rather than in a statement of their own).
 */
export async function selectSentRooms(
  db: Db,
  q: {
    userId: string; connection: number; gen: number; keptHead: number | null; since: number | undefined; roomIds: string[]; head: number; accountOf?: string;
    /** Per room of `roomIds`, how many of its newest events after what the connection holds to read (0: none). */
    fetch: number[];
  },
): Promise<{ held: Map<string, HeldRoom>; account: ListAccountData | undefined; counts: Map<string, RoomCounts>; batches: Map<string, PrefetchedBatch> }> {
  const { connection, gen, roomIds, head, accountOf } = q;
  if (roomIds.length === 0 && accountOf === undefined && q.keptHead === null) return { held: new Map(), account: undefined, counts: new Map(), batches: new Map() };
  const keptHead = q.keptHead ?? -1;
  const since = q.since ?? -1;
  const rows = await db<(SentRoomRow & {
    changed: boolean; kept: boolean; advanced: boolean; counts: [string, number, number] | null; batch: TimelineRow[] | null; lim: number | null;
    kind: string; type: string; content: Record<string, unknown>;
  })[]>`
    SELECT x.*, CASE WHEN x.changed AND x.membership = 'join' THEN (
        SELECT json_build_array(x.room_id, c.notify_count, c.highlight_count) FROM notification_counts(x.room_id, ${q.userId}, ${head}) c) END AS counts,
      CASE WHEN x.changed AND x.membership = 'join' AND x.lim > 0 THEN (SELECT coalesce(json_agg(${db.unsafe(TIMELINE_ROW_JSON)} ORDER BY e.stream_pos), '[]') FROM (
        SELECT ev.*, EXISTS (SELECT 1 FROM event_relations r WHERE r.relates_to_id = ev.event_id) AS has_children FROM events ev
        WHERE ev.room_id = x.room_id AND ev.stream_pos > x.sent_pos AND ev.stream_pos <= ${head} ORDER BY ev.stream_pos DESC LIMIT x.lim) e) END AS batch
    FROM (
    SELECT 'r' AS kind, r.room_id, r.effective AS sent_pos, r.membership, r.config, r.lazy_members, r.receipts_to, r.account_data_to, r.kept,
      (SELECT f.lim FROM unnest(${roomIds}::text[], ${q.fetch}::int[]) AS f(room_id, lim) WHERE f.room_id = r.room_id LIMIT 1) AS lim,
      EXISTS (SELECT 1 FROM events e WHERE e.room_id = r.room_id AND e.stream_pos > r.effective AND e.stream_pos <= ${head}) AS changed,
      r.kept AND EXISTS (SELECT 1 FROM events e WHERE e.room_id = r.room_id AND e.stream_pos > r.sent_pos AND e.stream_pos <= r.effective) AS advanced,
      NULL::text AS type, NULL::jsonb AS content
    FROM (
      SELECT d.*, d.kept_row AS kept, CASE WHEN d.kept_row THEN GREATEST(d.sent_pos, ${since}::bigint) ELSE d.sent_pos END AS effective
      FROM (
        SELECT DISTINCT ON (room_id) *, (gen = ${gen} AND sent_pos = ${keptHead}::bigint) AS kept_row FROM sliding_sync_rooms
        WHERE connection_id = ${connection} AND gen <= ${gen} AND (room_id = ANY(${roomIds}::text[]) OR (gen = ${gen} AND sent_pos = ${keptHead}::bigint))
        ORDER BY room_id, gen DESC) d) r
    UNION ALL
    SELECT 'a', room_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, type, content FROM account_data
    WHERE ${accountOf !== undefined}::boolean AND user_id = ${accountOf ?? ''} AND room_id = '' AND type IN ('m.direct', 'm.ignored_user_list')) x`;
  const position = (v: number | string | null) => (v === null ? null : Number(v));
  const held = new Map(
    rows.filter((r) => r.kind === 'r').map((r) => [
      r.roomId,
      {
        roomId: r.roomId, sentPos: Number(r.sentPos), membership: r.membership, config: r.config, lazyMembers: r.lazyMembers,
        receiptsTo: position(r.receiptsTo), accountDataTo: position(r.accountDataTo), changed: r.changed, kept: r.kept, advanced: r.advanced,
      },
    ]),
  );
  const counts = countsOf(rows.filter((r) => r.counts !== null).map((r) => r.counts!));
  const batches = new Map(rows.filter((r) => r.batch !== null).map((r) => [r.roomId, { from: Number(r.sentPos), to: head, fetch: Number(r.lim), rows: r.batch! }]));
  return { held, account: accountOf === undefined ? undefined : accountDataOf(rows.filter((r) => r.kind === 'a')), counts, batches };
}

/**
 * Writes a new generation: its parameters, the stream position it is written at (`head`: its rows at that position are
 * its kept rooms), the rooms its response covered (`scope`, for the room extensions), the rooms this response sent,
 * and the rooms whose newest row as of generation `fromGen` (the client's) is written again with new extension
 * positions (`carried`: rooms that left an extension's scope; a room without a row is skipped). Undefined when the
 * connection is gone (another request replaced it). Every `trimEvery` generations, rooms beyond `maxRooms` (least
 * recently sent) are forgotten: they are sent again in full when needed.
 */
export async function insertGeneration(
  db: Db,
  g: {
    connection: number; fromGen: number; params: unknown; head: number; scope: unknown; rooms: SentRoomRow[]; carried: CarriedRoomRow[];
    maxRooms: number; trimEvery: number;
  },
): Promise<number | undefined> {
  const rooms = g.rooms.map((r) => ({
    room_id: r.roomId, sent_pos: r.sentPos, membership: r.membership, config: r.config, lazy_members: r.lazyMembers, receipts_to: r.receiptsTo, account_data_to: r.accountDataTo,
  }));
  const carried = g.carried.map((r) => ({ room_id: r.roomId, receipts_to: r.receiptsTo, account_data_to: r.accountDataTo }));
  const [row] = await db<{ gen: number }[]>`
    WITH g AS (
      UPDATE sliding_sync_connections SET latest_gen = latest_gen + 1 WHERE connection_id = ${g.connection} RETURNING latest_gen AS gen
    ),
    p AS (
      INSERT INTO sliding_sync_positions (connection_id, gen, params, head, scope)
      SELECT ${g.connection}, g.gen, ${db.json(g.params as never)}, ${g.head}, ${g.scope === null ? null : db.json(g.scope as never)}::jsonb FROM g
    ),
    r AS (
      INSERT INTO sliding_sync_rooms (connection_id, room_id, gen, sent_pos, membership, config, lazy_members, receipts_to, account_data_to)
      SELECT ${g.connection}::bigint, x.room_id, g.gen, x.sent_pos, x.membership, x.config, ARRAY(SELECT jsonb_array_elements_text(x.lazy_members)), x.receipts_to, x.account_data_to
      FROM g, jsonb_to_recordset(${db.json(rooms as never)}) AS x(room_id text, sent_pos bigint, membership text, config jsonb, lazy_members jsonb, receipts_to bigint, account_data_to bigint)
      UNION ALL
      SELECT ${g.connection}::bigint, o.room_id, g.gen, o.sent_pos, o.membership, o.config, o.lazy_members,
        coalesce(x.receipts_to, o.receipts_to), coalesce(x.account_data_to, o.account_data_to)
      FROM g, jsonb_to_recordset(${db.json(carried as never)}) AS x(room_id text, receipts_to bigint, account_data_to bigint)
      CROSS JOIN LATERAL (
        SELECT * FROM sliding_sync_rooms s WHERE s.connection_id = ${g.connection} AND s.room_id = x.room_id AND s.gen <= ${g.fromGen}
        ORDER BY s.gen DESC LIMIT 1) o
    )
    SELECT gen FROM g`;
  if (!row) return undefined;
  const gen = Number(row.gen);
  if (gen % g.trimEvery === 0) {
    await db`
      DELETE FROM sliding_sync_rooms WHERE connection_id = ${g.connection} AND room_id IN (
        SELECT room_id FROM sliding_sync_rooms WHERE connection_id = ${g.connection}
        GROUP BY room_id ORDER BY max(sent_pos) DESC OFFSET ${g.maxRooms})`;
  }
  return gen;
}

/** One room of the user's list: membership (and who set it), bump stamp, encryption and type, at the watermark. */
export interface ListRoomRow {
  roomId: string;
  membership: string;
  membershipPos: number;
  /** The user's member event. */
  eventId: string;
  /** The member event's sender when the membership is leave (a kick when not the user). */
  leaveSender: string | null;
  /** The newest bumping event's position at or below the watermark; null when none. */
  bump: number | null;
  encrypted: boolean;
  roomType: string | null;
  forgotten: boolean;
}

/** The columns of one list row over `m` (the user's member row in current_state) and `h.pos` (the watermark); $1 is the user. */
const ROW_COLUMNS = `
      m.room_id, m.membership, m.stream_pos AS membership_pos, m.event_id,
      CASE WHEN m.membership = 'leave' THEN (SELECT e.sender FROM events e WHERE e.event_id = m.event_id) END AS leave_sender,
      (SELECT b.stream_pos FROM events b WHERE b.room_id = m.room_id AND ${BUMPING} AND b.stream_pos <= h.pos
        ORDER BY b.stream_pos DESC LIMIT 1) AS bump,
      EXISTS (SELECT 1 FROM current_state c WHERE c.room_id = m.room_id AND c.type = 'm.room.encryption' AND c.state_key = '') AS encrypted,
      (SELECT e.content->>'type' FROM current_state c JOIN events e ON e.event_id = c.event_id
        WHERE c.room_id = m.room_id AND c.type = 'm.room.create' AND c.state_key = '') AS room_type,
      EXISTS (SELECT 1 FROM forgotten_rooms f WHERE f.user_id = $1 AND f.room_id = m.room_id) AS forgotten`;

type RowJson = Omit<ListRoomRow, 'membershipPos' | 'bump'> & { membershipPos: number | string; bump: number | string | null };

const listRow = (r: RowJson): ListRoomRow => ({ ...r, membershipPos: Number(r.membershipPos), bump: r.bump === null ? null : Number(r.bump) });

/** The watermark and every room the user has a membership in, as of it: one statement, one snapshot. */
export async function selectRoomList(db: Db, userId: string): Promise<{ head: number; rooms: ListRoomRow[] }> {
  const rows = (await db.unsafe(
    `WITH h AS (SELECT pos FROM stream_head LIMIT 1)
    SELECT h.pos AS head, ${ROW_COLUMNS}
    FROM h LEFT JOIN current_state m ON m.type = 'm.room.member' AND m.state_key = $1`,
    [userId] as never[],
    { prepare: true },
  )) as unknown as (RowJson & { head: number })[];
  const head = rows.length > 0 ? Number(rows[0].head) : 0;
  return { head, rooms: rows.filter((r) => r.roomId !== null).map(listRow) };
}

/** What changed in the user's room list after `since`: the rows to apply (relay/sliding-sync/list-cache.ts). */
export interface RoomListChanges {
  head: number;
  /** Full rows of the rooms whose membership of the user changed in range (new rooms among them). */
  memberships: ListRoomRow[];
  /** Bumping events in the user's rooms: [room id, position]. */
  bumps: [string, number][];
  /** Rooms that got encrypted. */
  encrypted: string[];
  /** Rooms the user has forgotten. */
  forgotten: string[];
}

/**
 * What a request that already read the connection's rooms once asks again after a wake, in the list changes'
 * statement: which of `rooms` have events in (after, watermark], their unread counts and the newest `fetch` events
 * after `from` (what the connection holds; null: nothing to fetch), and (with `account`) the list's account data.
 */
export interface RoomsProbe {
  rooms: { roomId: string; from: number | null; fetch: number }[];
  after: number;
  account: boolean;
}

/** A room's newest `fetch` events in (from, to], oldest first (selectTimelineBackward's answer, read in advance). */
export interface PrefetchedBatch {
  from: number;
  to: number;
  fetch: number;
  rows: TimelineRow[];
}

export interface ProbeResult {
  withEvents: Set<string>;
  /** The unread counts of the rooms with events, at the watermark. */
  counts: Map<string, RoomCounts>;
  /** Their timeline batches, up to the watermark. */
  batches: Map<string, PrefetchedBatch>;
  account: ListAccountData | undefined;
}

/**
 * The changes of the user's room list in (since, watermark], read from the events in that range (so the work follows
 * what happened, not how many rooms the user has); undefined when more than `limit` events in range concern the list.
 * With a probe, its answer at the same watermark.
 */
export async function selectRoomListChanges(
  db: Db, userId: string, since: number, limit: number, probe?: RoomsProbe,
): Promise<(RoomListChanges & { probed: ProbeResult | undefined }) | undefined> {
  const [row] = (await db.unsafe(
    `WITH h AS (SELECT pos FROM stream_head LIMIT 1),
    ch AS (
      SELECT e.room_id, e.type, e.state_key, e.stream_pos FROM h, events e
      WHERE e.stream_pos > $2::bigint AND e.stream_pos <= h.pos
        AND (e.type IN (${BUMP_TYPES.map((t) => `'${t}'`).join(', ')}, 'm.room.encryption') OR (e.type = 'm.room.member' AND e.state_key = $1))
        AND EXISTS (SELECT 1 FROM current_state c WHERE c.room_id = e.room_id AND c.type = 'm.room.member' AND c.state_key = $1)
      ORDER BY e.stream_pos LIMIT $3::int + 1
    )
    SELECT h.pos AS head,
      (SELECT count(*)::int FROM ch) AS n,
      (SELECT coalesce(json_agg(json_build_array(room_id, type, stream_pos)), '[]') FROM ch WHERE type <> 'm.room.member') AS events,
      (SELECT coalesce(json_agg(r), '[]') FROM (
        -- Driven by the changed rooms (a key lookup each), not by the user's every membership.
        SELECT ${ROW_COLUMNS} FROM (SELECT DISTINCT room_id FROM ch WHERE type = 'm.room.member') x
        CROSS JOIN LATERAL (
          SELECT * FROM current_state c WHERE c.room_id = x.room_id AND c.type = 'm.room.member' AND c.state_key = $1) m) r) AS memberships,
      (SELECT coalesce(array_agg(room_id), '{}') FROM forgotten_rooms WHERE user_id = $1) AS forgotten,
      CASE WHEN $4::boolean THEN (SELECT coalesce(json_agg(json_build_array(p.room_id,
          (SELECT json_build_array(c.notify_count, c.highlight_count) FROM notification_counts(p.room_id, $1, h.pos) c),
          CASE WHEN p.from_pos IS NOT NULL AND p.lim > 0 THEN (SELECT coalesce(json_agg(${TIMELINE_ROW_JSON} ORDER BY e.stream_pos), '[]') FROM (
            SELECT ev.*, EXISTS (SELECT 1 FROM event_relations r WHERE r.relates_to_id = ev.event_id) AS has_children FROM events ev
            WHERE ev.room_id = p.room_id AND ev.stream_pos > p.from_pos AND ev.stream_pos <= h.pos ORDER BY ev.stream_pos DESC LIMIT p.lim) e) END)), '[]')
        FROM unnest($6::text[], $8::bigint[], $9::int[]) AS p(room_id, from_pos, lim)
        WHERE EXISTS (SELECT 1 FROM events x WHERE x.room_id = p.room_id AND x.stream_pos > $5::bigint AND x.stream_pos <= h.pos)) END AS with_events,
      CASE WHEN $4::boolean AND $7::boolean THEN (SELECT coalesce(json_agg(json_build_array(a.type, a.content)), '[]') FROM account_data a
        WHERE a.user_id = $1 AND a.room_id = '' AND a.type IN ('m.direct', 'm.ignored_user_list')) END AS account
    FROM h`,
    [
      userId, since, limit, probe !== undefined, probe?.after ?? 0, probe?.rooms.map((r) => r.roomId) ?? [], probe?.account === true,
      probe?.rooms.map((r) => r.from) ?? [], probe?.rooms.map((r) => r.fetch) ?? [],
    ] as never[],
    { prepare: true },
  )) as unknown as {
    head: number; n: number; events: [string, string, number][]; memberships: Record<string, unknown>[]; forgotten: string[];
    withEvents: [string, [number, number], TimelineRow[] | null][] | null; account: [string, Record<string, unknown>][] | null;
  }[];
  if (row.n > limit) return undefined;
  const askedBy = new Map((probe?.rooms ?? []).map((r) => [r.roomId, r]));
  const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
  return {
    head: Number(row.head),
    memberships: row.memberships.map((m) => listRow(camel(m) as unknown as RowJson)),
    bumps: row.events.filter(([, type]) => type !== 'm.room.encryption').map(([roomId, , pos]) => [roomId, Number(pos)]),
    encrypted: row.events.filter(([, type]) => type === 'm.room.encryption').map(([roomId]) => roomId),
    forgotten: row.forgotten,
    probed: probe === undefined ? undefined : {
      withEvents: new Set((row.withEvents ?? []).map(([roomId]) => roomId)),
      counts: countsOf((row.withEvents ?? []).map(([roomId, [n, h]]) => [roomId, n, h])),
      batches: new Map(
        (row.withEvents ?? []).flatMap(([roomId, , rows]) => {
          const asked = askedBy.get(roomId);
          return rows === null || !asked || asked.from === null ? [] : [[roomId, { from: asked.from, to: Number(row.head), fetch: asked.fetch, rows }] as const];
        }),
      ),
      account: row.account === null ? undefined : accountDataOf(row.account.map(([type, content]) => ({ roomId: '', type, content }))),
    },
  };
}

/** Unread notification and highlight counts of these rooms for the user, up to the watermark (migration 0015). */
export async function selectCountsOfRooms(db: Db, userId: string, roomIds: string[], head: number): Promise<Map<string, { notifications: number; highlights: number }>> {
  if (roomIds.length === 0) return new Map();
  const rows = await db<{ roomId: string; notifyCount: number; highlightCount: number }[]>`
    SELECT r.room_id, c.notify_count, c.highlight_count FROM unnest(${roomIds}::text[]) AS r(room_id)
    CROSS JOIN LATERAL notification_counts(r.room_id, ${userId}, ${head}) c`;
  return new Map(rows.map((r) => [r.roomId, { notifications: r.notifyCount, highlights: r.highlightCount }]));
}

export interface MemberSummaryRow {
  roomId: string;
  joined: number;
  invited: number;
  /** The room has a name (m.room.name with a non-empty name): no heroes are sent. */
  named: boolean;
  /** Up to `heroes` joined or invited members other than the user, in the order they arrived: [user id, displayname, avatar_url]. */
  heroes: [string, string | null, string | null][];
}

/** Joined and invited counts and the heroes of these rooms (current state). */
export async function selectMemberSummaries(db: Db, userId: string, roomIds: string[], heroes: number): Promise<Map<string, MemberSummaryRow>> {
  if (roomIds.length === 0) return new Map();
  const rows = await db<MemberSummaryRow[]>`
    SELECT r.room_id,
      (SELECT count(*)::int FROM current_state c WHERE c.room_id = r.room_id AND c.type = 'm.room.member' AND c.membership = 'join') AS joined,
      (SELECT count(*)::int FROM current_state c WHERE c.room_id = r.room_id AND c.type = 'm.room.member' AND c.membership = 'invite') AS invited,
      EXISTS (SELECT 1 FROM current_state c JOIN events e ON e.event_id = c.event_id
        WHERE c.room_id = r.room_id AND c.type = 'm.room.name' AND c.state_key = '' AND coalesce(e.content->>'name', '') <> '') AS named,
      (SELECT coalesce(json_agg(json_build_array(h.state_key, h.displayname, h.avatar_url) ORDER BY h.stream_pos), '[]') FROM (
        SELECT c.state_key, c.stream_pos, e.content->>'displayname' AS displayname, e.content->>'avatar_url' AS avatar_url
        FROM current_state c JOIN events e ON e.event_id = c.event_id
        WHERE c.room_id = r.room_id AND c.type = 'm.room.member' AND c.membership IN ('join', 'invite') AND c.state_key <> ${userId}
        ORDER BY c.stream_pos LIMIT ${heroes}) h) AS heroes
    FROM unnest(${roomIds}::text[]) AS r(room_id)`;
  return new Map(rows.map((r) => [r.roomId, r]));
}

/** The current state events of a room at or below the watermark; members only those named unless `allMembers`. */
export async function selectRoomStateFor(db: Db, roomId: string, head: number, allMembers: boolean, memberKeys: string[]): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT e.* FROM current_state c JOIN events e ON e.event_id = c.event_id
    WHERE c.room_id = ${roomId} AND c.stream_pos <= ${head}
      AND (c.type <> 'm.room.member' OR ${allMembers}::boolean OR c.state_key = ANY(${memberKeys}::text[]))
    ORDER BY e.stream_pos`;
}

/** The m.space.child state keys (with a non-empty `via`) of these rooms. */
export async function selectSpaceChildren(db: Db, spaceIds: string[]): Promise<Set<string>> {
  if (spaceIds.length === 0) return new Set();
  const rows = await db<{ stateKey: string }[]>`
    SELECT c.state_key FROM current_state c JOIN events e ON e.event_id = c.event_id
    WHERE c.room_id = ANY(${spaceIds}::text[]) AND c.type = 'm.space.child' AND jsonb_typeof(e.content->'via') = 'array'
      AND jsonb_array_length(e.content->'via') > 0`;
  return new Set(rows.map((r) => r.stateKey));
}

/** The user's m.direct and m.ignored_user_list contents, and (with `tags`) the m.tag content of each room: one read. */
export async function selectDirectAndTags(
  db: Db,
  userId: string,
  tags: boolean,
): Promise<ListAccountData> {
  const rows = await db<{ roomId: string; type: string; content: Record<string, unknown> }[]>`
    SELECT room_id, type, content FROM account_data
    WHERE user_id = ${userId} AND ((room_id = '' AND type IN ('m.direct', 'm.ignored_user_list')) OR (${tags}::boolean AND room_id <> '' AND type = 'm.tag'))`;
  return accountDataOf(rows);
}
