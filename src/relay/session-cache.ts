/**
 * Recently resolved access tokens, per Hs, for the endpoints whose own read confirms the token in the same
 * statement as the data (GET /sync: its snapshot): such a request skips the token query, and its read refuses a
 * token that was revoked, expired, or whose user was deactivated since. Other endpoints never use it, so for them
 * a revoked token is refused at once, in every process.
 */
import type { Hs } from '../hs.js';
import type { Requester } from './sessions.js';
import { Lru } from './lru.js';

/** Devices are marked as seen at most this often (sessions.ts); an entry older than that goes through the full check. */
export const LAST_SEEN_GRANULARITY_MS = 5 * 60_000;
const MAX_ENTRIES = 50_000;

interface Entry {
  requester: Requester;
  expiresTs: number | null;
  lastSeenTs: number;
}

const caches = new WeakMap<Hs, Lru<string, Entry>>();

function cacheOf(hs: Hs): Lru<string, Entry> {
  let lru = caches.get(hs);
  if (!lru) caches.set(hs, (lru = new Lru(MAX_ENTRIES)));
  return lru;
}

export function rememberSession(hs: Hs, requester: Requester, expiresTs: number | null, lastSeenTs: number): void {
  cacheOf(hs).set(requester.tokenHash.toString('hex'), { requester, expiresTs, lastSeenTs });
}

/** The cached requester for a token hash, marked unconfirmed; undefined when the full check is due. */
export function cachedSession(hs: Hs, tokenHash: Buffer, now = Date.now()): Requester | undefined {
  const entry = cacheOf(hs).get(tokenHash.toString('hex'));
  if (!entry) return undefined;
  if ((entry.expiresTs !== null && entry.expiresTs <= now) || now - entry.lastSeenTs > LAST_SEEN_GRANULARITY_MS) return undefined;
  return { ...entry.requester, unconfirmed: true };
}

export function forgetSession(hs: Hs, tokenHash: Buffer): void {
  cacheOf(hs).delete(tokenHash.toString('hex'));
}
