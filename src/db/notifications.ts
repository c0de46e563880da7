/**
 * Notifications: one row per (event, notified user), written in the event's own transaction; the push settings the
 * write path needs to decide them (users' own push rules, changes to the defaults, whether they ignore the sender);
 * the counts /sync shows, GET /notifications, and what the delivery job reads for a pusher.
 */
import type { Db, Tx } from './database.js';
import type { DefaultChangeRow, PushRuleRow } from './push-rules.js';

export interface NewNotification {
  userId: string;
  highlight: boolean;
  actions: unknown[];
}

/** One user's push settings that differ from the defaults; users absent from the answer have none. */
export interface PushSettingsRow {
  userId: string;
  rules: PushRuleRow[] | null;
  changes: DefaultChangeRow[] | null;
  ignoresSender: boolean;
}

/**
 * The push settings of the room's joined members (`users` undefined) or of these users, as they concern `sender`:
 * only users who ever changed a push rule (they have a push_rules_stream row) or who ignore the sender come back.
 */
export async function selectPushSettings(db: Db, sender: string, target: { roomId: string } | { users: string[] }): Promise<PushSettingsRow[]> {
  const who =
    'roomId' in target
      ? db`SELECT state_key AS user_id FROM current_state WHERE room_id = ${target.roomId} AND type = 'm.room.member' AND membership = 'join'`
      : db`SELECT unnest(${target.users}::text[]) AS user_id`;
  return db<PushSettingsRow[]>`
    WITH u AS (${who}),
    s AS (
      SELECT u.user_id,
        EXISTS (SELECT 1 FROM push_rules_stream r WHERE r.user_id = u.user_id) AS changed,
        EXISTS (SELECT 1 FROM account_data a WHERE a.user_id = u.user_id AND a.room_id = '' AND a.type = 'm.ignored_user_list'
                  AND a.content->'ignored_users' ? ${sender}) AS ignores_sender
      FROM u)
    SELECT s.user_id, s.ignores_sender,
      CASE WHEN s.changed THEN (
        SELECT json_agg(json_build_object('userId', p.user_id, 'kind', p.kind, 'ruleId', p.rule_id, 'position', p.position, 'enabled', p.enabled,
                                          'actions', p.actions, 'conditions', p.conditions, 'pattern', p.pattern) ORDER BY p.kind, p.position, p.rule_id)
        FROM push_rules p WHERE p.user_id = s.user_id) END AS rules,
      CASE WHEN s.changed THEN (
        SELECT json_agg(json_build_object('kind', d.kind, 'ruleId', d.rule_id, 'enabled', d.enabled, 'actions', d.actions))
        FROM push_rule_defaults d WHERE d.user_id = s.user_id) END AS changes
    FROM s WHERE s.changed OR s.ignores_sender`;
}

/**
 * Inserts the notifications of the event the transaction's previous statement inserted (its position is currval), so
 * that they go in the same round trip as the event, before COMMIT.
 */
export async function insertNotificationsAtPositionJustTaken(
  tx: Tx,
  e: { roomId: string; eventId: string; threadId: string; ts: number },
  rows: NewNotification[],
): Promise<void> {
  await tx`
    INSERT INTO notifications (stream_pos, user_id, room_id, event_id, thread_id, highlight, actions, ts)
    SELECT currval('stream_positions'), n.user_id, ${e.roomId}, ${e.eventId}, ${e.threadId}, n.highlight, n.actions, ${e.ts}
    FROM jsonb_to_recordset(${tx.json(rows.map((r) => ({ user_id: r.userId, highlight: r.highlight, actions: r.actions })) as never)})
      AS n(user_id text, highlight boolean, actions jsonb)`;
}

export interface NotificationCounts {
  notifications: number;
  highlights: number;
}

/** The room's unread notification and highlight counts for the user up to the watermark (migration 0015). */
export async function selectNotificationCounts(db: Db, roomId: string, userId: string, to: number): Promise<NotificationCounts> {
  const [row] = await db<{ notifyCount: number; highlightCount: number }[]>`SELECT * FROM notification_counts(${roomId}, ${userId}, ${to})`;
  return { notifications: row.notifyCount, highlights: row.highlightCount };
}

/**
 * The room's unread counts for the user up to the watermark, per thread: `main` (events in no thread) and each thread
 * root's id, each after the latest unthreaded receipt and the latest receipt of that thread (as notification_counts).
 * Threads without unread notifications are absent.
 */
export async function selectNotificationCountsByThread(db: Db, roomId: string, userId: string, to: number): Promise<Map<string, NotificationCounts>> {
  const rows = await db<{ threadId: string; notifyCount: number; highlightCount: number }[]>`
    SELECT x.thread_id, count(*)::int AS notify_count, (count(*) FILTER (WHERE x.highlight))::int AS highlight_count FROM notifications x
    LEFT JOIN (SELECT r.thread_id, max(r.event_stream_pos) AS pos FROM receipts r
               WHERE r.room_id = ${roomId} AND r.user_id = ${userId} AND r.receipt_type IN ('m.read', 'm.read.private')
               GROUP BY r.thread_id) t ON t.thread_id = x.thread_id
    WHERE x.user_id = ${userId} AND x.room_id = ${roomId} AND x.stream_pos <= ${to}
      AND x.stream_pos > COALESCE((SELECT max(event_stream_pos) FROM receipts
        WHERE room_id = ${roomId} AND user_id = ${userId} AND receipt_type IN ('m.read', 'm.read.private') AND thread_id = ''), 0)
      AND (t.pos IS NULL OR x.stream_pos > t.pos)
    GROUP BY x.thread_id`;
  return new Map(rows.map((r) => [r.threadId, { notifications: r.notifyCount, highlights: r.highlightCount }]));
}

export interface NotificationRow {
  streamPos: number;
  roomId: string;
  eventId: string;
  highlight: boolean;
  actions: unknown[];
  ts: number;
  /** Whether a read receipt of the user covers it (unthreaded, or of its thread). */
  read: boolean;
}

/** GET /notifications: the user's notifications below `before`, newest first, whose event still exists. */
export async function selectNotifications(db: Db, userId: string, q: { before: number; limit: number; onlyHighlight: boolean }): Promise<NotificationRow[]> {
  return db<NotificationRow[]>`
    SELECT n.stream_pos, n.room_id, n.event_id, n.highlight, n.actions, n.ts,
      EXISTS (SELECT 1 FROM receipts r WHERE r.room_id = n.room_id AND r.user_id = n.user_id AND r.receipt_type IN ('m.read', 'm.read.private')
                AND r.thread_id IN ('', n.thread_id) AND r.event_stream_pos >= n.stream_pos) AS read
    FROM notifications n
    WHERE n.user_id = ${userId} AND n.stream_pos < ${q.before} AND n.stream_pos <= (SELECT pos FROM stream_head)
      AND (${!q.onlyHighlight} OR n.highlight)
    ORDER BY n.stream_pos DESC
    LIMIT ${q.limit}`;
}

export interface PendingNotification {
  streamPos: number;
  roomId: string;
  eventId: string;
  sender: string;
}

/** The delivery job: the user's notifications after `after`, up to the watermark, oldest first. */
export async function selectPendingNotifications(db: Db, userId: string, after: number, limit: number): Promise<PendingNotification[]> {
  return db<PendingNotification[]>`
    SELECT n.stream_pos, n.room_id, n.event_id, e.sender FROM notifications n JOIN events e ON e.stream_pos = n.stream_pos
    WHERE n.user_id = ${userId} AND n.stream_pos > ${after} AND n.stream_pos <= (SELECT pos FROM stream_head)
    ORDER BY n.stream_pos LIMIT ${limit}`;
}

/** The room's name, if it has one (for PUSH_INCLUDE_SENDER only). */
export async function selectRoomName(db: Db, roomId: string): Promise<string | undefined> {
  const [row] = await db<{ name: unknown }[]>`
    SELECT e.content->'name' AS name FROM current_state c JOIN events e ON e.event_id = c.event_id
    WHERE c.room_id = ${roomId} AND c.type = 'm.room.name' AND c.state_key = ''`;
  return typeof row?.name === 'string' && row.name !== '' ? row.name : undefined;
}

/** The user's unread notifications over every room they are joined to: the badge a push carries (`counts.unread`). */
export async function selectUnreadTotal(db: Db, userId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT coalesce(sum(c.notify_count), 0)::int AS n
    FROM current_state m, LATERAL notification_counts(m.room_id, ${userId}, (SELECT pos FROM stream_head)) c
    WHERE m.type = 'm.room.member' AND m.state_key = ${userId} AND m.membership = 'join'`;
  return row.n;
}

/** A user who joins a room starts afresh there: notifications from before (the invite, an earlier stay) go. */
export async function deleteNotificationsOfUserInRoom(db: Db, userId: string, roomId: string): Promise<void> {
  await db`DELETE FROM notifications WHERE user_id = ${userId} AND room_id = ${roomId}`;
}

/** Notifications of deleted events (retention, room purge): events have no foreign key from here. */
export async function deleteNotificationsOfEvents(db: Db, streamPositions: number[]): Promise<void> {
  if (streamPositions.length === 0) return;
  await db`DELETE FROM notifications WHERE stream_pos = ANY(${streamPositions}::bigint[])`;
}
