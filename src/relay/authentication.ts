/**
 * Who is this request: an access token resolves to a Requester here and nowhere else, with one rule for whether a
 * token stands (tokenState: a deactivated user's token is unknown; an expired one is a soft logout).
 * - The full check reads the token, its device and user, marks the device as seen (at most every
 *   LAST_SEEN_GRANULARITY_MS, so that authentication stays a read) and remembers the session (Hs.sessions).
 * - An endpoint whose own read confirms the token in the same statement as its data (GET /sync: its snapshot) or in
 *   the same round trip, before it writes anything (a room send: readTokenFacts in the room lock's round trip) may
 *   take a session this process resolved recently instead: the requester is then marked unconfirmed, the read
 *   fetches the token's facts (tokenToConfirm) and the endpoint refuses what they say (confirmToken). So a woken
 *   /sync costs one query, a send one round trip less, and a token revoked, expired or deactivated since is still
 *   refused.
 * Other endpoints never use the cache: for them a revoked token is refused at once, in every process.
 */
import { unknownToken } from '../errors.js';
import type { Db } from '../db/database.js';
import type { Hs, Requester } from '../hs.js';
import * as tokens from '../db/tokens.js';
import { updateDeviceLastSeen } from '../db/devices.js';
import { hashToken } from '../lib/tokens.js';

/** Devices are marked as seen at most this often; a cached session older than that goes through the full check. */
const LAST_SEEN_GRANULARITY_MS = 5 * 60_000;

/** What a token's row says about it: gone (undefined), or its expiry and whether its user is deactivated. */
export type TokenFacts = { expiresTs: number | null; deactivated: boolean } | undefined;

/** Whether a token stands: the one rule, for the full check and for reads that confirm the token themselves. */
function tokenState(facts: TokenFacts, now = Date.now()): 'valid' | 'expired' | 'unknown' {
  if (!facts || facts.deactivated) return 'unknown';
  return facts.expiresTs !== null && facts.expiresTs <= now ? 'expired' : 'valid';
}

function refuse(state: 'expired' | 'unknown'): never {
  throw state === 'expired' ? unknownToken('The access token has expired; refresh it.', true) : unknownToken('Unknown access token.');
}

/**
 * The requester of an access token. `ownReadConfirms`: the caller's own read confirms the token (see above), so a
 * session from the cache may stand in for the token query.
 */
export async function resolveRequester(hs: Hs, token: string, ownReadConfirms = false): Promise<Requester> {
  const hash = hashToken(token);
  return (ownReadConfirms ? cachedSession(hs, hash) : undefined) ?? fullCheck(hs, hash);
}

async function fullCheck(hs: Hs, hash: Buffer): Promise<Requester> {
  const row = await tokens.selectAccessToken(hs.sql, hash);
  const now = Date.now();
  const state = tokenState(row, now);
  if (!row || state !== 'valid') refuse(state === 'expired' ? 'expired' : 'unknown');
  if (row.replacesRefreshHash) await tokens.revokeReplacedRefreshToken(hs.sql, hash, row.replacesRefreshHash);
  let lastSeenTs = row.lastSeenTs ?? now;
  if (row.lastSeenTs === null || now - row.lastSeenTs > LAST_SEEN_GRANULARITY_MS) {
    await updateDeviceLastSeen(hs.sql, row.userId, row.deviceId, now);
    lastSeenTs = now;
  }
  const requester: Requester = { userId: row.userId, deviceId: row.deviceId, isGuest: row.isGuest, isAdmin: row.isAdmin, tokenHash: hash };
  hs.sessions.set(hash.toString('hex'), { requester, expiresTs: row.expiresTs, lastSeenTs });
  return requester;
}

/** The cached requester for a token hash, marked unconfirmed; undefined when the full check is due. */
function cachedSession(hs: Hs, hash: Buffer, now = Date.now()): Requester | undefined {
  const entry = hs.sessions.get(hash.toString('hex'));
  if (!entry) return undefined;
  if ((entry.expiresTs !== null && entry.expiresTs <= now) || now - entry.lastSeenTs > LAST_SEEN_GRANULARITY_MS) return undefined;
  return { ...entry.requester, unconfirmed: true };
}

/** The hash of the token the caller's read must fetch the facts of (for confirmToken); undefined: nothing to confirm. */
export function tokenToConfirm(requester: Requester): Buffer | undefined {
  return requester.unconfirmed ? requester.tokenHash : undefined;
}

/** The facts of `requester`'s token read on `db` when it is to be confirmed (a statement to pipeline); else undefined. */
export function readTokenFacts(db: Db, requester: Requester): Promise<TokenFacts> | undefined {
  const hash = tokenToConfirm(requester);
  return hash ? tokens.selectTokenFacts(db, hash, requester.userId, requester.deviceId) : undefined;
}

/** After a read that fetched the facts of tokenToConfirm's token: refuses (and forgets) a session that no longer stands. */
export function confirmToken(hs: Hs, requester: Requester, facts: TokenFacts): void {
  if (!requester.unconfirmed) return;
  const state = tokenState(facts);
  if (state === 'valid') return;
  hs.sessions.delete(requester.tokenHash.toString('hex'));
  refuse(state);
}
