/**
 * What a process remembers between one device's /sync long-polls, so that a poll that finds nothing costs no query:
 * - the rooms (joined or invited) the user's last sync found: the keys the next poll listens to (only a hint; the
 *   sync checks it against its snapshot before it waits);
 * - the listener of the device's last response, kept open after the response: it was registered before the read
 *   that produced the response's next_batch and covered every room of it, so while it has not fired nothing the
 *   device would see has committed since that token. A poll that comes back with exactly that token waits on it
 *   instead of reading first. Kept for a limited time; any other token drops it.
 */
import type { Hs } from '../../hs.js';
import type { Listener } from '../notifier.js';
import { Lru } from '../lru.js';

/** A kept listener is dropped if its device does not come back with the token within this time. */
const KEEP_MS = 90_000;
const ROOMS_MAX = 100_000;

interface Kept {
  token: string;
  listener: Listener;
  timer: NodeJS.Timeout;
}

interface Memory {
  rooms: Lru<string, string[]>;
  kept: Map<string, Kept>;
}

const memories = new WeakMap<Hs, Memory>();

function memoryOf(hs: Hs): Memory {
  let m = memories.get(hs);
  if (!m) memories.set(hs, (m = { rooms: new Lru(ROOMS_MAX), kept: new Map() }));
  return m;
}

export function roomsHint(hs: Hs, userId: string): string[] | undefined {
  return memoryOf(hs).rooms.get(userId);
}

export function rememberRooms(hs: Hs, userId: string, rooms: string[]): void {
  memoryOf(hs).rooms.set(userId, rooms);
}

const deviceKey = (userId: string, deviceId: string) => `${userId}\u0000${deviceId}`;

/** Keeps the listener of a response that carried `token`; it replaces (and closes) any kept before. */
export function keepListener(hs: Hs, userId: string, deviceId: string, token: string, listener: Listener): void {
  const kept = memoryOf(hs).kept;
  const key = deviceKey(userId, deviceId);
  drop(kept, key);
  const timer = setTimeout(() => drop(kept, key), KEEP_MS);
  timer.unref();
  kept.set(key, { token, listener, timer });
}

/** The listener kept for this device if it was kept for `token` (the caller then owns and closes it). */
export function takeListener(hs: Hs, userId: string, deviceId: string, token: string): Listener | undefined {
  const kept = memoryOf(hs).kept;
  const key = deviceKey(userId, deviceId);
  const entry = kept.get(key);
  if (!entry) return undefined;
  kept.delete(key);
  clearTimeout(entry.timer);
  if (entry.token === token) return entry.listener;
  entry.listener.close();
  return undefined;
}

function drop(kept: Map<string, Kept>, key: string): void {
  const entry = kept.get(key);
  if (!entry) return;
  kept.delete(key);
  clearTimeout(entry.timer);
  entry.listener.close();
}
