/**
 * /sync: reads everything for a user in (since, watermark] from one provider per section, and long-polls when
 * there is nothing new. The listener is registered before each read, so a write that commits meanwhile wakes it.
 */
import type { Hs } from '../../hs.js';
import type { Requester } from '../sessions.js';
import { selectStreamHead } from '../../db/stream.js';
import { selectRoomsWithMemberships } from '../../db/rooms.js';
import { selectAccountDataSince, type AccountDataRow } from '../../db/account-data.js';
import { selectPushRulesStream } from '../../db/push-rules.js';
import { getPushRuleset } from '../push-rules/rules.js';
import type { Filter } from '../filters.js';
import { roomKey, userKey } from '../notifier.js';
import { matchesEventFilter } from './event-filter.js';
import { roomsSection, type RoomsSection } from './rooms.js';
import { syncToken } from './token.js';
import { e2eeIsEmpty, e2eeSections, type E2eeSections } from './e2ee.js';

export interface SyncRequest {
  since: number | undefined;
  /** The last to-device message id the client's token acknowledges. */
  toDeviceAck?: number;
  /** The typing position the client's token carries. */
  typing?: number;
  timeoutMs: number;
  fullState: boolean;
  filter: Filter;
}

export interface SyncResponse extends Omit<E2eeSections, 'toDeviceAck'> {
  next_batch: string;
  rooms: RoomsSection;
  account_data: { events: { type: string; content: Record<string, unknown> }[] };
  presence: { events: unknown[] };
}

/** Long-polls are capped so that a client's timeout cannot hold a connection for ever. */
export const MAX_TIMEOUT_MS = 5 * 60_000;

async function globalAccountData(hs: Hs, userId: string, rows: AccountDataRow[], since: number | undefined, head: number, filter: Filter) {
  const events = rows.filter((r) => r.roomId === '').map((r) => ({ type: r.type, content: r.content }));
  const pushPos = await selectPushRulesStream(hs.sql, userId);
  if (since === undefined || (pushPos !== undefined && pushPos > since && pushPos <= head)) {
    events.push({ type: 'm.push_rules', content: { global: await getPushRuleset(hs, userId) } });
  }
  return { events: events.filter((e) => matchesEventFilter(filter.account_data, { type: e.type, sender: userId })) };
}

async function build(hs: Hs, requester: Requester, req: SyncRequest, head: number): Promise<SyncResponse> {
  // Read before the rooms are: typing changes up to it are delivered now, later ones by the next sync (never lost).
  const typing = hs.typing.position();
  const accountData = await selectAccountDataSince(hs.sql, requester.userId, req.since, head);
  const perRoom = new Map<string, AccountDataRow[]>();
  for (const r of accountData) {
    if (r.roomId === '' || !matchesEventFilter(req.filter.room?.account_data, { type: r.type, sender: requester.userId, roomId: r.roomId })) continue;
    perRoom.set(r.roomId, [...(perRoom.get(r.roomId) ?? []), r]);
  }
  const [rooms, account_data, e2ee] = await Promise.all([
    roomsSection(hs, requester, req.since, head, req.filter, req.fullState, perRoom, { since: req.typing, upTo: typing }),
    globalAccountData(hs, requester.userId, accountData, req.since, head, req.filter),
    e2eeSections(hs, requester, req.since, req.toDeviceAck, head),
  ]);
  const { toDeviceAck, ...sections } = e2ee;
  return { next_batch: syncToken({ pos: head, toDeviceAck, typing }), rooms, account_data, presence: { events: [] }, ...sections };
}

function isEmpty(res: SyncResponse): boolean {
  const r = res.rooms;
  return (
    Object.keys(r.join).length + Object.keys(r.invite).length + Object.keys(r.leave).length + Object.keys(r.knock).length === 0 &&
    res.account_data.events.length === 0 &&
    e2eeIsEmpty(res)
  );
}

export async function sync(hs: Hs, requester: Requester, req: SyncRequest): Promise<SyncResponse> {
  const deadline = Date.now() + Math.min(req.timeoutMs, MAX_TIMEOUT_MS);
  for (;;) {
    const rooms = await selectRoomsWithMemberships(hs.sql, requester.userId, ['join', 'invite']);
    // Registered before the read: anything relevant that commits after the head is read wakes this listener.
    const listener = hs.notifier.listen([userKey(requester.userId), ...rooms.map(roomKey)]);
    try {
      const head = await selectStreamHead(hs.sql);
      const since = req.since !== undefined ? Math.min(req.since, head) : undefined;
      const response = await build(hs, requester, { ...req, since }, head);
      if (since === undefined || req.fullState || !isEmpty(response)) return response;
      const remaining = deadline - Date.now();
      // Nothing new: wait for a wake (then read again) or the timeout (then the empty answer stands).
      if (remaining <= 0 || !(await listener.wait(remaining))) return response;
    } finally {
      listener.close();
    }
  }
}
