/**
 * Device lists: every device or cross-signing change of a user is recorded at a stream position in the writing
 * transaction; users who share a room (joined or invited) with them, and the user's own devices, learn of it in
 * /sync's device_lists.changed, and of users they stop sharing rooms with in device_lists.left.
 */
import type { Hs } from '../../hs.js';
import type { Db, Tx } from '../../db/database.js';
import { insertDeviceListChange, selectDeviceListActivity, selectDeviceListChanges } from '../../db/keys.js';
import { selectMembersOfRoom, selectMembershipChanges, selectMembershipsOfUser, selectUsersSharingRooms } from '../../db/rooms.js';
import { selectStreamHead, takeStreamPosition } from '../../db/stream.js';
import { onDeviceListChange } from '../wakes.js';

/**
 * Records that the user's device list changed; call it last in the writing transaction. `onlyFor`: a change
 * only that user may see (their signature on another user's master key), not the user's room sharers.
 */
export async function recordDeviceListChange(tx: Tx, userId: string, onlyFor?: string): Promise<void> {
  await insertDeviceListChange(tx, userId, await takeStreamPosition(tx), onlyFor);
}

/** After commit: wakes everyone who tracks the user's devices (room sharers and the user's own devices). */
export async function wakeDeviceListWatchers(hs: Hs, userId: string): Promise<void> {
  const users = new Set(await selectUsersSharingRooms(hs.sql, userId));
  users.add(userId);
  onDeviceListChange(hs.notifier, users);
}

export interface DeviceLists {
  changed: string[];
  left: string[];
}

/**
 * device_lists for `userId` over (from, to]. `knownActivity`: the caller already knows that some device list or
 * membership changed in the range (a sync's snapshot tells), so the cheap check is skipped.
 */
export async function deviceListsBetween(db: Db, userId: string, from: number, to: number, knownActivity = false): Promise<DeviceLists> {
  // Most incremental syncs cover only messages: one cheap check spares the per-user queries.
  if (!knownActivity && !(await selectDeviceListActivity(db, from, to))) return { changed: [], left: [] };
  const sharers = new Set(await selectUsersSharingRooms(db, userId));
  sharers.add(userId);
  const changed = new Set(await selectDeviceListChanges(db, userId, [...sharers], from, to));
  const left = new Set<string>();
  // Rooms the user is or was in: membership changes there start or end sharing.
  const rooms = (await selectMembershipsOfUser(db, userId)).map((m) => m.roomId);
  const changes = await selectMembershipChanges(db, rooms, from, to);
  for (const change of changes) {
    if (change.stateKey === userId) continue;
    if (sharers.has(change.stateKey)) {
      if (change.membership === 'join' || change.membership === 'invite') changed.add(change.stateKey);
    } else {
      left.add(change.stateKey);
    }
  }
  // The user's own changes: a room joined makes its members new to them; a room left may end sharing with its members.
  for (const own of changes.filter((c) => c.stateKey === userId)) {
    if (own.membership === 'join' || own.membership === 'invite') {
      for (const u of sharers) if (u !== userId) changed.add(u);
    } else {
      for (const m of ['join', 'invite']) for (const u of await selectMembersOfRoom(db, own.roomId, m)) if (!sharers.has(u)) left.add(u);
    }
  }
  for (const u of changed) left.delete(u);
  return { changed: [...changed].sort(), left: [...left].filter((u) => !sharers.has(u)).sort() };
}

/** GET /keys/changes: the changes between two stream positions, the later one read as at most the current head. */
export async function deviceListChanges(hs: Hs, userId: string, from: number, to: number): Promise<DeviceLists> {
  const upTo = Math.min(to, await selectStreamHead(hs.sql));
  return deviceListsBetween(hs.sql, userId, from, Math.max(from, upTo));
}
