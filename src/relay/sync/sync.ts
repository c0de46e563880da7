/**
 * /sync: reads everything for a user in (since, watermark] with one builder per section (section.ts), and long-polls
 * when there is nothing new. The listener is registered before each read, so a write that commits meanwhile wakes it.
 * Each read starts with one statement (db/sync-snapshot.ts) that says which streams and rooms have anything new (and
 * acknowledges to-device messages and confirms a cached session); the sections then read only those, so a long-poll
 * that finds nothing costs one query after the listener's.
 */
import type { Hs, Requester } from '../../hs.js';
import { selectRoomsWithMemberships } from '../../db/rooms.js';
import { snapshotAndAcknowledge } from '../../db/sync-snapshot.js';
import { TO_DEVICE_PER_SYNC } from '../to-device.js';
import type { Filter } from '../filters.js';
import { roomKey, userKey } from '../notifier.js';
import { confirmToken, tokenToConfirm } from '../authentication.js';
import { roomsSection, timelineLimit, type RoomsPart } from './rooms.js';
import { accountDataSection, type AccountDataPart } from './account-data.js';
import { presenceSection, type PresencePart } from './presence.js';
import { e2eeSection, toDeviceAckAfter, toDeviceComplete, type E2eePart } from './e2ee.js';
import type { SyncRead, SyncSection } from './section.js';
import { syncToken } from './token.js';
import { lazyMode } from './lazy-members.js';

export interface SyncRequest {
  since: number | undefined;
  /** The last to-device message id the client's token acknowledges. */
  toDeviceAck?: number;
  /** The typing position the client's token carries. */
  typing?: number;
  /** The presence position the client's token carries. */
  presence?: number;
  /** set_presence: how the sync marks the user (default online; offline leaves presence alone). */
  setPresence?: 'online' | 'unavailable' | 'offline';
  timeoutMs: number;
  fullState: boolean;
  /** use_state_after: rooms carry the state at the end of their timeline (`state_after`) instead of `state`. */
  useStateAfter?: boolean;
  filter: Filter;
}

export type SyncResponse = { next_batch: string } & RoomsPart & AccountDataPart & PresencePart & E2eePart;

/** Every section of the response; each builds its part from the same read (and judges only the part it built). */
const SECTIONS = [roomsSection, accountDataSection, presenceSection, e2eeSection] as unknown as SyncSection<object>[];

/** Long-polls are capped so that a client's timeout cannot hold a connection for ever. */
const MAX_TIMEOUT_MS = 5 * 60_000;

/** Builds every section; `empty` when none holds anything. */
async function build(read: SyncRead): Promise<{ body: Omit<SyncResponse, 'next_batch'>; empty: boolean }> {
  const parts = await Promise.all(SECTIONS.map(async (section) => ({ section, part: await section.build(read) })));
  return {
    body: Object.assign({}, ...parts.map((p) => p.part)) as Omit<SyncResponse, 'next_batch'>,
    empty: parts.every(({ section, part }) => section.isEmpty(part)),
  };
}

export async function sync(hs: Hs, requester: Requester, req: SyncRequest): Promise<SyncResponse> {
  const deadline = Date.now() + Math.min(req.timeoutMs, MAX_TIMEOUT_MS);
  const { userId, deviceId } = requester;
  const setPresence = req.setPresence ?? 'online';
  let presenceMarked = setPresence === 'offline';
  if (req.since !== undefined && !req.fullState) {
    // The device is back with the token of its last response: wait on that response's listener before any read.
    const kept = hs.polls.takeListener(userId, deviceId, syncToken({ pos: req.since, toDeviceAck: req.toDeviceAck, typing: req.typing, presence: req.presence }));
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
      const snapshot = await snapshotAndAcknowledge(hs.sql, {
        userId, deviceId, since: req.since, toDeviceAck: req.toDeviceAck, toDeviceLimit: TO_DEVICE_PER_SYNC, timelineFetch: timelineLimit(req.filter) + 1,
        confirmToken: tokenToConfirm(requester), lazyMembers: lazyMode(req.filter) === 'lazy',
      });
      confirmToken(hs, requester, snapshot.token);
      // Only a confirmed token marks its user present (a revoked one may still sit in the session cache).
      if (!presenceMarked) {
        presenceMarked = true;
        await hs.presence.syncing(userId, setPresence as 'online' | 'unavailable', Math.max(0, deadline - Date.now()));
      }
      // Read before the presence section reads the states: changes up to it are delivered now, later ones next time.
      const presence = hs.presence.position();
      const current = snapshot.rooms.memberships.filter((m) => m.membership === 'join' || m.membership === 'invite').map((m) => m.roomId);
      hs.polls.rememberRooms(userId, current);
      const listened = new Set(rooms);
      const coversEveryRoom = current.every((r) => listened.has(r));
      // A token from the future (another server's, or a restored database) is read as the head.
      const since = req.since !== undefined ? Math.min(req.since, snapshot.head) : undefined;
      const { body, empty } = await build({
        hs, requester, since, fullState: req.fullState, useStateAfter: req.useStateAfter === true, filter: req.filter, toDeviceAck: req.toDeviceAck, typing: { since: req.typing, upTo: typing },
        presence: { since: req.since === undefined ? undefined : (req.presence ?? 0), upTo: presence }, snapshot,
      });
      const response: SyncResponse = { next_batch: syncToken({ pos: snapshot.head, toDeviceAck: toDeviceAckAfter(snapshot.e2ee, req.toDeviceAck), typing, presence }), ...body };
      // The listener is kept for the device's next poll if it covered every room and the response holds everything
      // up to its token (a full to-device batch does not).
      const answer = () => {
        if (coversEveryRoom && toDeviceComplete(snapshot.e2ee)) {
          hs.polls.keepListener(userId, deviceId, response.next_batch, listener);
          keep = true;
        }
        return response;
      };
      const remaining = deadline - Date.now();
      if (since === undefined || req.fullState || !empty || remaining <= 0) return answer();
      // A room the listener does not cover (the hint was stale): listen again, with every room, before waiting.
      if (!coversEveryRoom) continue;
      // Nothing new: wait for a wake (then read again) or the timeout (then the empty answer stands).
      if (!(await listener.wait(remaining))) return answer();
    } finally {
      if (!keep) listener.close();
    }
  }
}
