/**
 * Presence rules: users set only their own presence, and see their own and that of users they share a room with
 * (anyone else: 403, whether or not the account exists). The state itself lives in the presence manager (presence.ts).
 */
import type { Hs } from '../../hs.js';
import type { Db } from '../../db/database.js';
import { forbidden } from '../../errors.js';
import { selectRoomsWithMemberships, selectUsersSharingRooms } from '../../db/rooms.js';
import type { Notifier } from '../notifier.js';
import { onPresenceChange } from '../wakes.js';
import { CURRENTLY_ACTIVE_MS, type Presence, type PresenceView } from './presence.js';

export interface PresenceJson {
  presence: Presence;
  last_active_ago?: number;
  currently_active?: boolean;
  status_msg?: string;
}

/** How a user's presence reads now (with PRESENCE=off, or never seen: offline and nothing else). */
export function presenceJson(view: PresenceView | undefined, now = Date.now()): PresenceJson {
  if (!view) return { presence: 'offline' };
  const out: PresenceJson = { presence: view.presence };
  if (view.lastActiveTs !== undefined) {
    out.last_active_ago = Math.max(0, now - view.lastActiveTs);
    out.currently_active = view.presence === 'online' && now - view.lastActiveTs <= CURRENTLY_ACTIVE_MS;
  }
  if (view.statusMsg !== undefined) out.status_msg = view.statusMsg;
  return out;
}

export async function setPresence(hs: Hs, requesterId: string, userId: string, presence: Presence, statusMsg: string | undefined): Promise<void> {
  if (userId !== requesterId) throw forbidden('You can only set your own presence.');
  await hs.presence.set(userId, presence, statusMsg);
}

export async function getPresence(hs: Hs, requesterId: string, userId: string): Promise<PresenceJson> {
  if (userId !== requesterId && !(await selectUsersSharingRooms(hs.sql, requesterId)).includes(userId)) {
    throw forbidden('You can only see the presence of users you share a room with.');
  }
  return presenceJson(hs.presence.get(userId));
}

/** The presence manager's onChange: wakes the user and the rooms they are in, across processes. */
export function wakePresenceWatchers(notifier: Notifier, db: Db): (userId: string) => void {
  return (userId) => {
    selectRoomsWithMemberships(db, userId, ['join', 'invite'])
      .then((rooms) => onPresenceChange(notifier, userId, rooms))
      .catch(() => onPresenceChange(notifier, userId, []));
  };
}
