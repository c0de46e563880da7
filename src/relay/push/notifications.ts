/**
 * GET /notifications: the events that notified the user (by their push rules, when each was sent), newest first,
 * with whether a read receipt covers each. The token is the position of the last one returned.
 */
import type { Hs } from '../../hs.js';
import { invalidParam } from '../../errors.js';
import { selectNotifications } from '../../db/notifications.js';
import { selectEventsByIds } from '../../db/events.js';
import { clientEvent, type ClientEvent } from '../rooms/events.js';

export const DEFAULT_NOTIFICATIONS_LIMIT = 20;
export const MAX_NOTIFICATIONS_LIMIT = 100;

export interface NotificationView {
  actions: unknown[];
  event: ClientEvent;
  read: boolean;
  room_id: string;
  ts: number;
}

function parseFrom(from: string | undefined): number {
  if (from === undefined) return Number.MAX_SAFE_INTEGER;
  const n = Number(from);
  if (from === '' || !Number.isSafeInteger(n) || n < 0 || String(n) !== from) throw invalidParam("'from' is not a token this server gave.");
  return n;
}

export async function getNotifications(
  hs: Hs,
  userId: string,
  q: { from?: string; limit?: number; only?: string },
): Promise<{ notifications: NotificationView[]; next_token?: string }> {
  const before = parseFrom(q.from);
  const limit = Math.min(Math.max(q.limit ?? DEFAULT_NOTIFICATIONS_LIMIT, 1), MAX_NOTIFICATIONS_LIMIT);
  const rows = await selectNotifications(hs.sql, userId, { before, limit, onlyHighlight: q.only === 'highlight' });
  const events = new Map((await selectEventsByIds(hs.sql, rows.map((r) => r.eventId))).map((e) => [e.eventId, e]));
  const notifications: NotificationView[] = [];
  for (const r of rows) {
    const event = events.get(r.eventId);
    // An event deleted since (retention, a purged room) took its notification along; a race may leave one behind.
    if (!event) continue;
    notifications.push({ actions: r.actions, event: clientEvent(event), read: r.read, room_id: r.roomId, ts: r.ts });
  }
  const result: { notifications: NotificationView[]; next_token?: string } = { notifications };
  if (rows.length === limit) result.next_token = String(rows[rows.length - 1].streamPos);
  return result;
}
