/**
 * The one statement of a /sync read, which also acknowledges and confirms: in one snapshot it deletes the to-device
 * messages the client's token acknowledged, fetches the facts of the access token to confirm (a session from the
 * cache, relay/authentication.ts), and reads the watermark and, for each sync section, what it has for the user and
 * device since the client's position. Everything it returns is consistent with the watermark. Most long-polls find
 * nothing new; this lets them know it in one round trip, and lets a woken sync read only the rooms and sections
 * that changed.
 * Each section's columns and its part of the result are declared together below (SECTIONS); a new section adds its
 * columns there and its builder in relay/sync/.
 */
import type { Db } from './database.js';
import { TIMELINE_ROW_JSON, type TimelineRow } from './events.js';
import { accountDataChangesSql, pushRulesPosSql, readAccountDataChanges, type AccountDataRow } from './account-data.js';
import type { MembershipRow } from './rooms.js';
import { inboxAckSql, inboxBatchSql, readInboxBatch, type InboxParams, type ToDeviceRow } from './to-device.js';
import { deviceListActivitySql, keyCountsSql, readKeyCounts, type KeyCounts } from './keys.js';
import type { NotificationCounts } from './notifications.js';
import { roomsWithReceiptsSql } from './receipts.js';

/** The global account data section's part (relay/sync/account-data.ts). */
export interface AccountDataSnapshot {
  /** Global account data changed in (since, head]. */
  changed: AccountDataRow[];
  /** When the user's push rules last changed; undefined if never. */
  pushRulesPos: number | undefined;
}

/** The rooms section's part (relay/sync/rooms.ts). */
export interface RoomsSnapshot {
  /** The user's membership in every room they have a member event in (as of the watermark). */
  memberships: MembershipRow[];
  forgotten: Set<string>;
  /** Room account data changed in (since, head], by room. */
  accountData: Map<string, AccountDataRow[]>;
  /** Rooms the user is or was in with events in (since, head]; undefined on an initial sync (every room is read). */
  withEvents: Set<string> | undefined;
  /** Rooms the user is or was in whose receipts changed in (since, head]; undefined on an initial sync. */
  withReceipts: Set<string> | undefined;
  /**
   * For each room the user was joined to throughout (since, head] that has events in it: the newest
   * `timelineFetch` of those events (oldest first) and the room's unread notification counts at the watermark; with
   * `lazyMembers`, the senders of those events whose current member event the device was not sent at or before
   * `since` (db/lazy-members.ts).
   */
  steady: Map<string, { events: TimelineRow[]; unread: NotificationCounts; unsentSenders: Set<string> | undefined }>;
  /**
   * The content of the user's m.ignored_user_list (relay/ignored-users.ts), undefined when they have none: read here
   * so that a sync with a timeline or an invite to build needs no second round trip for it.
   */
  ignoredUsers: Record<string, unknown> | undefined;
}

/** The end-to-end encryption section's part (relay/sync/e2ee.ts). */
export interface E2eeSnapshot extends KeyCounts {
  /** The device's first `toDeviceLimit` unacknowledged messages up to the watermark, in order. */
  toDevice: ToDeviceRow[];
  /** Whether any device list or membership changed anywhere in (since, head] (false on an initial sync). */
  deviceListActivity: boolean;
}

export interface SyncSnapshot {
  /** The watermark: every write at or below it has committed, and nothing above it is read. */
  head: number;
  /** With `confirmToken`: the token's expiry and whether its user is deactivated; undefined when it is gone. */
  token: { expiresTs: number | null; deactivated: boolean } | undefined;
  accountData: AccountDataSnapshot;
  rooms: RoomsSnapshot;
  e2ee: E2eeSnapshot;
}

type Row = Record<string, unknown>;

/** The to-device inbox parts' values in this statement (parameters below; the watermark is `h.pos`). */
const INBOX: InboxParams = { user: '$1::text', device: '$2::text', ack: '$6::bigint', upTo: 'h.pos', limit: '$7::int' };

interface Section<T> {
  /** Select-list items, over `h.pos` (the watermark) and `mine` (the user's member events); parameters as below. */
  columns: string;
  read(row: Row): T;
}

/** Both account data sections read the user's changes in one scan (`account_data`), each taking its own rows. */
const SECTIONS: { accountData: Section<AccountDataSnapshot>; rooms: Section<RoomsSnapshot>; e2ee: Section<E2eeSnapshot> } = {
  accountData: {
    columns: `
      ${accountDataChangesSql('$1::text', '$3::bigint', 'h.pos')} AS account_data,
      ${pushRulesPosSql('$1::text')} AS push_rules_pos`,
    read: (row) => ({
      changed: readAccountDataChanges(row.accountData).filter((a) => a.roomId === ''),
      pushRulesPos: (row.pushRulesPos as number | null) ?? undefined,
    }),
  },
  rooms: {
    columns: `
      (SELECT coalesce(json_agg(json_build_array(room_id, membership, stream_pos, event_id)), '[]') FROM mine) AS memberships,
      (SELECT coalesce(array_agg(room_id), '{}') FROM forgotten_rooms WHERE user_id = $1::text) AS forgotten,
      (SELECT content FROM account_data WHERE user_id = $1::text AND room_id = '' AND type = 'm.ignored_user_list') AS ignored_users,
      CASE WHEN $4::boolean THEN (
        SELECT coalesce(array_agg(DISTINCT e.room_id), '{}') FROM events e
        WHERE e.stream_pos > $3::bigint AND e.stream_pos <= h.pos AND e.room_id IN (SELECT room_id FROM mine)) END AS rooms_with_events,
      CASE WHEN $4::boolean THEN ${roomsWithReceiptsSql('(SELECT room_id FROM mine)', '$3::bigint', 'h.pos')} END AS rooms_with_receipts,
      (SELECT coalesce(json_agg(json_build_array(m.room_id, b.events, (SELECT json_build_array(c.notify_count, c.highlight_count) FROM notification_counts(m.room_id, $1::text, h.pos) c), b.unsent)), '[]')
        FROM mine m
        CROSS JOIN LATERAL (
          SELECT json_agg(${TIMELINE_ROW_JSON} ORDER BY e.stream_pos) AS events,
            -- Lazy-loading members: the batch's senders whose current member event the device was not sent by its token.
            -- (The aggregate runs whatever the CASE says: the FILTER's first condition spares the lookups when off.)
            CASE WHEN $11::boolean THEN coalesce(array_agg(DISTINCT e.sender) FILTER (WHERE $11::boolean AND NOT EXISTS (
              SELECT 1 FROM lazy_members_sent s JOIN current_state c
                ON c.room_id = s.room_id AND c.type = 'm.room.member' AND c.state_key = s.member_id AND c.event_id = s.event_id
              WHERE s.user_id = $1::text AND s.device_id = $2::text AND s.room_id = m.room_id AND s.member_id = e.sender
                AND s.sent_pos <= $3::bigint)), '{}') END AS unsent
          FROM (
            SELECT ev.*, EXISTS (SELECT 1 FROM event_relations r WHERE r.relates_to_id = ev.event_id) AS has_children FROM events ev
            WHERE ev.room_id = m.room_id AND ev.stream_pos > $3::bigint AND ev.stream_pos <= h.pos
            ORDER BY ev.stream_pos DESC LIMIT $8::int) e
        ) b
        WHERE $4::boolean AND m.membership = 'join' AND m.stream_pos <= $3::bigint
          AND EXISTS (SELECT 1 FROM events x WHERE x.room_id = m.room_id AND x.stream_pos > $3::bigint AND x.stream_pos <= h.pos)
      ) AS steady_rooms`,
    read: (row) => {
      const accountData = new Map<string, AccountDataRow[]>();
      for (const a of readAccountDataChanges(row.accountData)) {
        if (a.roomId !== '') accountData.set(a.roomId, [...(accountData.get(a.roomId) ?? []), a]);
      }
      const withEvents = row.roomsWithEvents as string[] | null;
      const withReceipts = row.roomsWithReceipts as string[] | null;
      return {
        memberships: (row.memberships as [string, string, number, string][]).map(([roomId, membership, streamPos, eventId]) => ({ roomId, membership, streamPos, eventId })),
        forgotten: new Set(row.forgotten as string[]),
        ignoredUsers: (row.ignoredUsers as Record<string, unknown> | null) ?? undefined,
        accountData,
        withEvents: withEvents ? new Set(withEvents) : undefined,
        withReceipts: withReceipts ? new Set(withReceipts) : undefined,
        steady: new Map(
          (row.steadyRooms as [string, TimelineRow[], [number, number], string[] | null][]).map(([roomId, events, [notifications, highlights], unsent]) => [
            roomId,
            { events, unread: { notifications, highlights }, unsentSenders: unsent === null ? undefined : new Set(unsent) },
          ]),
        ),
      };
    },
  },
  e2ee: {
    columns: `
      ${inboxBatchSql(INBOX)} AS to_device,
      $4::boolean AND ${deviceListActivitySql('$3::bigint', 'h.pos')} AS device_list_activity,
      ${keyCountsSql('$1::text', '$2::text')} AS key_counts`,
    read: (row) => ({
      toDevice: readInboxBatch(row.toDevice),
      deviceListActivity: row.deviceListActivity as boolean,
      ...readKeyCounts(row.keyCounts),
    }),
  },
};

/**
 * Parameters, each named once (a tagged template would send one per mention: a Bind past WRITTEN_AT_ONCE_BYTES, which
 * postgres.js writes at once instead of with the other queries of the same turn, db/write-size.ts): $1 user, $2 device,
 * $3 since (-1 on an initial sync), $4 incremental, $5 whether a to-device ack came, $6 the ack, $7 to-device limit,
 * $8 timeline fetch, $9 whether to confirm the token, $10 its hash, $11 whether the device's lazy-loaded members are
 * tracked.
 * The DELETEs run in the same statement; their rows stay visible to the statement's snapshot, hence message_id > ack
 * (and sent_pos <= since for the lazy-loading record, whose rows after the token, or all on an initial sync, go).
 */
const SNAPSHOT_SQL = `
    WITH h AS (SELECT pos FROM stream_head LIMIT 1),
    acked AS (${inboxAckSql(INBOX, '$5::boolean')}),
    unsent AS (
      DELETE FROM lazy_members_sent WHERE $11::boolean AND user_id = $1::text AND device_id = $2::text AND sent_pos > $3::bigint
    ),
    mine AS (SELECT room_id, membership, stream_pos, event_id FROM current_state WHERE type = 'm.room.member' AND state_key = $1::text)
    SELECT
      h.pos AS head,
      CASE WHEN $9::boolean THEN (
        SELECT json_build_object('expiresTs', a.expires_ts, 'deactivated', u.deactivated)
        FROM access_tokens a JOIN users u USING (user_id)
        WHERE a.token_hash = $10::bytea AND a.user_id = $1::text AND a.device_id = $2::text) END AS token,
      ${Object.values(SECTIONS).map((s) => s.columns.trim()).join(',\n      ')}
    FROM h
`;

export async function snapshotAndAcknowledge(
  db: Db,
  q: {
    userId: string;
    deviceId: string;
    since: number | undefined;
    /** The last to-device message the client's token acknowledges: deleted by this statement. */
    toDeviceAck: number | undefined;
    toDeviceLimit: number;
    timelineFetch: number;
    /** The hash of an access token whose facts to fetch in the same statement (a session from the cache). */
    confirmToken?: Buffer;
    /** The sync lazy-loads members and leaves out those the device was sent (db/lazy-members.ts). */
    lazyMembers?: boolean;
  },
): Promise<SyncSnapshot> {
  const params = [
    q.userId, q.deviceId, q.since ?? -1, q.since !== undefined, q.toDeviceAck !== undefined, q.toDeviceAck ?? 0,
    q.toDeviceLimit, q.timelineFetch, q.confirmToken !== undefined, q.confirmToken ?? Buffer.alloc(0), q.lazyMembers === true,
  ];
  const [row] = (await db.unsafe(SNAPSHOT_SQL, params as never[], { prepare: true })) as unknown as Row[];
  return {
    head: row.head as number,
    token: (row.token as SyncSnapshot['token'] | null) ?? undefined,
    accountData: SECTIONS.accountData.read(row),
    rooms: SECTIONS.rooms.read(row),
    e2ee: SECTIONS.e2ee.read(row),
  };
}
