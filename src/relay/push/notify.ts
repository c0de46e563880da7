/**
 * Who an event notifies, decided in the event's own transaction (room write path, rooms/append.ts): the joined
 * members other than the sender (and the invitee of an invite), each by their push rules, never a user who ignores
 * the sender. Deciding there, rather than after commit, makes an event and its notifications commit together: /sync
 * never shows an event without its count, a crash loses none, and the delivery job finds them in stream order. The
 * cost is kept off the stream head's lock: the members' push settings are read in the room lock's round trip
 * (sendEvent) or once per transaction, the rules are evaluated in memory, and the insert rides in the event's own
 * pipelined round trip (db/notifications.ts).
 */
import type { Tx } from '../../db/database.js';
import type { EventRow } from '../../db/events.js';
import { selectPushSettings, type NewNotification, type PushSettingsRow } from '../../db/notifications.js';
import { defaultRules, KINDS, type PushRule } from '../push-rules/defaults.js';
import { evaluate, type EvaluationContext } from '../push-rules/evaluate.js';
import { render, type Ruleset } from '../push-rules/rules.js';
import { notificationPowerLevel, userPowerLevel } from '../rooms/power-levels.js';
import type { RoomState } from '../rooms/room-state.js';
import { clientEvent } from '../rooms/events.js';

/** What one transaction knows of its room members' push settings, for one sender. */
export interface PushSettingsCache {
  sender: string;
  /** Users whose settings were read: their non-default settings, or null for none. */
  known: Map<string, PushSettingsRow | null>;
}

/** Reads the push settings of the room's joined members (sendEvent: pipelined behind the room lock). */
export function prefetchPushSettings(tx: Tx, roomId: string, sender: string): Promise<PushSettingsRow[]> {
  return selectPushSettings(tx, sender, { roomId });
}

/** The cache from a prefetch: `members` are the joined members as of the same lock (the room's state), `rows` theirs. */
export function pushCacheOf(sender: string, members: string[], rows: PushSettingsRow[]): PushSettingsCache {
  const known = new Map<string, PushSettingsRow | null>(members.map((m) => [m, null]));
  for (const r of rows) known.set(r.userId, r);
  return { sender, known };
}

/** The rules every user has who changed none: the defaults, built once per user id. */
function defaultRuleset(userId: string): Ruleset {
  const ruleset = {} as Ruleset;
  for (const kind of KINDS) ruleset[kind] = [];
  for (const d of defaultRules(userId)) {
    const { kind, first: _first, ...rule } = d;
    ruleset[kind].push(rule as PushRule);
  }
  return ruleset;
}

/** The thread_id of events in no thread (the main timeline), in receipts and notifications. */
export const MAIN_THREAD = 'main';

/** The thread an event belongs to for read receipts: its thread root, or 'main'. */
export function threadOf(content: Record<string, unknown>): string {
  const rel = content['m.relates_to'];
  if (rel && typeof rel === 'object' && (rel as Record<string, unknown>).rel_type === 'm.thread') {
    const root = (rel as Record<string, unknown>).event_id;
    if (typeof root === 'string') return root;
  }
  return MAIN_THREAD;
}

/**
 * The notifications of `row` (not yet inserted), given the room's state before it. Loads the settings it lacks
 * (an invitee, a transaction without prefetch) with one query.
 */
export async function notificationsFor(
  tx: Tx,
  cache: PushSettingsCache | undefined,
  stateBefore: RoomState,
  joinedBefore: string[],
  row: EventRow,
): Promise<{ notifications: NewNotification[]; cache: PushSettingsCache }> {
  const joined = new Set(joinedBefore);
  let invitee: string | undefined;
  if (row.type === 'm.room.member' && row.stateKey !== null) {
    const membership = row.content.membership;
    if (membership === 'join') joined.add(row.stateKey);
    else joined.delete(row.stateKey);
    if (membership === 'invite') invitee = row.stateKey;
  }
  const candidates = [...joined].filter((u) => u !== row.sender);
  if (invitee !== undefined && invitee !== row.sender) candidates.push(invitee);
  if (!cache || cache.sender !== row.sender) cache = { sender: row.sender, known: new Map() };
  if (candidates.length === 0) return { notifications: [], cache };
  const missing = candidates.filter((u) => !cache!.known.has(u));
  if (missing.length > 0) {
    const rows = await selectPushSettings(tx, row.sender, { users: missing });
    for (const u of missing) cache.known.set(u, null);
    for (const r of rows) cache.known.set(r.userId, r);
  }
  const event = clientEvent(row) as unknown as Record<string, unknown>;
  const senderPowerLevel = userPowerLevel(stateBefore, row.sender);
  const levels = new Map<string, number>();
  const notificationLevel = (key: string) => {
    let level = levels.get(key);
    if (level === undefined) levels.set(key, (level = notificationPowerLevel(stateBefore, key)));
    return level;
  };
  const notifications: NewNotification[] = [];
  for (const userId of candidates) {
    const settings = cache.known.get(userId) ?? null;
    if (settings?.ignoresSender) continue;
    const ruleset = settings && (settings.rules || settings.changes) ? render(userId, settings.rules ?? [], settings.changes ?? []) : defaultRuleset(userId);
    const ctx: EvaluationContext = { userId, memberCount: joined.size, senderPowerLevel, notificationLevel };
    const outcome = evaluate(ruleset, event, ctx);
    if (outcome?.notify) notifications.push({ userId, highlight: outcome.highlight, actions: outcome.actions });
  }
  return { notifications, cache };
}
