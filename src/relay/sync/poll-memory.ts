/**
 * What a process remembers between one device's /sync long-polls (Hs.polls), so that a poll that finds nothing
 * costs no query:
 * - the rooms (joined or invited) the user's last sync found: the keys the next poll listens to (only a hint; the
 *   sync checks it against its snapshot before it waits);
 * - the listener of the device's last response, kept open after the response: it was registered before the read
 *   that produced the response's next_batch and covered every room of it, so while it has not fired nothing the
 *   device would see has committed since that token. A poll that comes back with exactly that token waits on it
 *   instead of reading first. Kept for a limited time; any other token drops it.
 */
import type { Listener } from '../notifier.js';
import { Lru } from '../../lib/lru.js';

/** A kept listener is dropped if its device does not come back with the token within this time. */
const KEEP_MS = 90_000;
const ROOMS_MAX = 100_000;

interface Kept {
  token: string;
  listener: Listener;
  timer: NodeJS.Timeout;
}

const deviceKey = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;

export class PollMemory {
  private readonly rooms = new Lru<string, string[]>(ROOMS_MAX);
  private readonly kept = new Map<string, Kept>();

  roomsHint(userId: string): string[] | undefined {
    return this.rooms.get(userId);
  }

  rememberRooms(userId: string, rooms: string[]): void {
    this.rooms.set(userId, rooms);
  }

  /** Keeps the listener of a response that carried `token`; it replaces (and closes) any kept before. */
  keepListener(userId: string, deviceId: string, token: string, listener: Listener): void {
    const key = deviceKey(userId, deviceId);
    this.drop(key);
    const timer = setTimeout(() => this.drop(key), KEEP_MS);
    timer.unref();
    this.kept.set(key, { token, listener, timer });
  }

  /** The listener kept for this device if it was kept for `token` (the caller then owns and closes it). */
  takeListener(userId: string, deviceId: string, token: string): Listener | undefined {
    const key = deviceKey(userId, deviceId);
    const entry = this.kept.get(key);
    if (!entry) return undefined;
    this.kept.delete(key);
    clearTimeout(entry.timer);
    if (entry.token === token) return entry.listener;
    entry.listener.close();
    return undefined;
  }

  private drop(key: string): void {
    const entry = this.kept.get(key);
    if (!entry) return;
    this.kept.delete(key);
    clearTimeout(entry.timer);
    entry.listener.close();
  }
}
