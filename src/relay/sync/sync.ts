/**
 * /sync: reads everything for a user in (since, watermark] from one provider per section, and long-polls when
 * there is nothing new. The listener is registered before each read, so a write that commits meanwhile wakes it.
 * Each read starts with one snapshot query (db/sync-snapshot.ts) that says which streams and rooms have anything
 * new; the providers then read only those, so a long-poll that finds nothing costs one query after the listener's.
 */
import type { Hs, Requester } from '../../hs.js';
import { selectRoomsWithMemberships } from '../../db/rooms.js';
import type { AccountDataRow } from '../../db/account-data.js';
import { selectSyncSnapshot, type SyncSnapshot } from '../../db/sync-snapshot.js';
import { TO_DEVICE_PER_SYNC } from '../to-device.js';
import { getPushRuleset } from '../push-rules/rules.js';
import type { Filter } from '../filters.js';
import { roomKey, userKey } from '../notifier.js';
import { matchesEventFilter } from './event-filter.js';
import { roomsSection, timelineLimit, type RoomsSection } from './rooms.js';
import { syncToken } from './token.js';
import { confirmToken, tokenToConfirm } from '../authentication.js';
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
const MAX_TIMEOUT_MS = 5 * 60_000;

async function globalAccountData(hs: Hs, userId: string, snapshot: SyncSnapshot, since: number | undefined, filter: Filter) {
  const events = snapshot.accountData.filter((r) => r.roomId === '').map((r) => ({ type: r.type, content: r.content }));
  const pushPos = snapshot.pushRulesPos;
  if (since === undefined || (pushPos !== undefined && pushPos > since && pushPos <= snapshot.head)) {
    events.push({ type: 'm.push_rules', content: { global: await getPushRuleset(hs, userId) } });
  }
  return { events: events.filter((e) => matchesEventFilter(filter.account_data, { type: e.type, sender: userId })) };
}

async function build(hs: Hs, requester: Requester, req: SyncRequest, snapshot: SyncSnapshot, typing: number): Promise<SyncResponse> {
  const perRoom = new Map<string, AccountDataRow[]>();
  for (const r of snapshot.accountData) {
    if (r.roomId === '' || !matchesEventFilter(req.filter.room?.account_data, { type: r.type, sender: requester.userId, roomId: r.roomId })) continue;
    perRoom.set(r.roomId, [...(perRoom.get(r.roomId) ?? []), r]);
  }
  const [rooms, account_data, e2ee] = await Promise.all([
    roomsSection(hs, requester, req.since, snapshot, req.filter, req.fullState, perRoom, { since: req.typing, upTo: typing }),
    globalAccountData(hs, requester.userId, snapshot, req.since, req.filter),
    e2eeSections(hs, requester, req.since, req.toDeviceAck, snapshot),
  ]);
  const { toDeviceAck, ...sections } = e2ee;
  return { next_batch: syncToken({ pos: snapshot.head, toDeviceAck, typing }), rooms, account_data, presence: { events: [] }, ...sections };
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
  const { userId, deviceId } = requester;
  if (req.since !== undefined && !req.fullState) {
    // The device is back with the token of its last response: wait on that response's listener before any read.
    const kept = hs.polls.takeListener(userId, deviceId, syncToken({ pos: req.since, toDeviceAck: req.toDeviceAck, typing: req.typing }));
    if (kept) {
      try {
        await kept.wait(deadline - Date.now());
      } finally {
        kept.close();
      }
    }
  }
  for (;;) {
    const rooms = hs.polls.roomsHint(userId) ?? (await selectRoomsWithMemberships(hs.sql, userId, ['join', 'invite']));
    // Registered before the read: anything relevant that commits after the head is read wakes this listener.
    const listener = hs.notifier.listen([userKey(userId), ...rooms.map(roomKey)]);
    let keep = false;
    try {
      // Read before the snapshot: typing changes up to it are delivered now, later ones by the next sync (never lost).
      const typing = hs.typing.position();
      const snapshot = await selectSyncSnapshot(hs.sql, {
        userId, deviceId, since: req.since, toDeviceAck: req.toDeviceAck, toDeviceLimit: TO_DEVICE_PER_SYNC, timelineFetch: timelineLimit(req.filter) + 1,
        confirmToken: tokenToConfirm(requester),
      });
      confirmToken(hs, requester, snapshot.token);
      const current = snapshot.memberships.filter((m) => m.membership === 'join' || m.membership === 'invite').map((m) => m.roomId);
      hs.polls.rememberRooms(userId, current);
      const listened = new Set(rooms);
      const coversEveryRoom = current.every((r) => listened.has(r));
      // A token from the future (another server's, or a restored database) is read as the head.
      const since = req.since !== undefined ? Math.min(req.since, snapshot.head) : undefined;
      const response = await build(hs, requester, { ...req, since }, snapshot, typing);
      // The listener is kept for the device's next poll if it covered every room and the response holds everything
      // up to its token (a full to-device batch does not).
      const answer = () => {
        if (coversEveryRoom && snapshot.toDevice.length < TO_DEVICE_PER_SYNC) {
          hs.polls.keepListener(userId, deviceId, response.next_batch, listener);
          keep = true;
        }
        return response;
      };
      const remaining = deadline - Date.now();
      if (since === undefined || req.fullState || !isEmpty(response) || remaining <= 0) return answer();
      // A room the listener does not cover (the hint was stale): listen again, with every room, before waiting.
      if (!coversEveryRoom) continue;
      // Nothing new: wait for a wake (then read again) or the timeout (then the empty answer stands).
      if (!(await listener.wait(remaining))) return answer();
    } finally {
      if (!keep) listener.close();
    }
  }
}
