/**
 * Ignoring users (spec: "Ignoring Users", m.ignored_user_list): the users someone ignores, read from their global
 * account data whenever a response is built (/sync reads it in its snapshot statement, db/sync-snapshot.ts), so a
 * change takes effect on the very next /sync, /messages, /context, /event, /relations or /threads (the spec's
 * "immediately"). What it hides: the ignored users' non-state events (state
 * events are still sent, so that the room looks the same to everyone) and their invites. One's own events are never hidden. Events already
 * delivered stay with the client; one that wants them gone or back does a fresh initial sync, as the spec says.
 */
import type { Db } from '../db/database.js';
import { selectAccountData } from '../db/account-data.js';
import { isUserId } from '../lib/identifiers.js';

export const IGNORED_USER_LIST = 'm.ignored_user_list';

/** Whether `userId` ignores anyone, and whom. */
export interface Ignoring {
  /** The event is one `userId` must not be sent: a non-state event from an ignored user. */
  hides(e: { sender: string; stateKey: string | null }): boolean;
  /** The user ignores `sender` (invites from them are not sent). */
  ignores(sender: string): boolean;
}

const NOBODY: Ignoring = { hides: () => false, ignores: () => false };

/** The ignored users of `userId`: the user-id keys of `ignored_users` in their m.ignored_user_list. */
export async function ignoringOf(db: Db, userId: string): Promise<Ignoring> {
  return ignoringFrom(await selectAccountData(db, userId, '', IGNORED_USER_LIST), userId);
}

/** The same from the content of `userId`'s m.ignored_user_list already read (undefined: none). */
export function ignoringFrom(content: Record<string, unknown> | undefined, userId: string): Ignoring {
  const list = content?.ignored_users;
  if (typeof list !== 'object' || list === null || Array.isArray(list)) return NOBODY;
  const ignored = new Set(Object.keys(list).filter((u) => isUserId(u) && u !== userId));
  if (ignored.size === 0) return NOBODY;
  return {
    hides: (e) => e.stateKey === null && ignored.has(e.sender),
    ignores: (sender) => ignored.has(sender),
  };
}
