/**
 * The grammar of Matrix identifiers (spec appendix "Identifier Grammar"; the formats mx-user-id, mx-room-id,
 * mx-event-id, mx-room-alias and mx-server-name of the spec's string-formats.yaml), in one place: a predicate per
 * kind for code, and a zod schema per kind for request schemas. Every identifier is at most 255 bytes.
 */
import { z } from 'zod';

export const MAX_ID_BYTES = 255;

const fits = (s: string) => s.length > 0 && Buffer.byteLength(s) <= MAX_ID_BYTES;

/** server_name = host [":" port]: an IPv4 or DNS name, or a bracketed IPv6 literal; a port of 1 to 5 digits. */
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::[0-9]{1,5})?$/;
/** Characters a localpart or opaque id may never hold: the ':' separator, whitespace and control characters. */
const NOT_IN_LOCALPART = /[:\s\p{Cc}]/u;
/** Opaque parts (event ids, room ids of v12 rooms) have no ':'-free rule, but never whitespace or control characters. */
const NOT_IN_OPAQUE = /[\s\p{Cc}]/u;

export function isServerName(s: string): boolean {
  return SERVER_NAME.test(s);
}

/** sigil localpart ":" server_name, split at the first ':' (server names may hold more: IPv6, ports). */
function isSigilId(s: unknown, sigil: string): s is string {
  if (typeof s !== 'string' || !s.startsWith(sigil) || !fits(s)) return false;
  const colon = s.indexOf(':');
  if (colon < 2) return false;
  return !NOT_IN_LOCALPART.test(s.slice(1, colon)) && isServerName(s.slice(colon + 1));
}

/**
 * A user id: '@' localpart ':' server name. Localparts are checked with the historical grammar rooms must accept
 * (anything printable but ':'); new accounts use the strict one (relay/user-ids.ts).
 */
export function isUserId(s: unknown): s is string {
  return isSigilId(s, '@');
}

/** A room alias: '#' localpart ':' server name. */
export function isRoomAlias(s: unknown): s is string {
  return isSigilId(s, '#');
}

/** A room id: '!' opaque, with ':' server name (room versions before 12) or without (version 12's hashes). */
export function isRoomId(s: unknown): s is string {
  if (typeof s !== 'string' || !s.startsWith('!') || !fits(s) || s.length < 2 || NOT_IN_OPAQUE.test(s)) return false;
  const colon = s.indexOf(':');
  return colon < 0 || (colon >= 2 && isServerName(s.slice(colon + 1)));
}

/** An event id: '$' opaque (room versions 3 and later: unpadded base64 of the reference hash; ours are random). */
export function isEventId(s: unknown): s is string {
  return typeof s === 'string' && s.startsWith('$') && s.length >= 2 && fits(s) && !NOT_IN_OPAQUE.test(s);
}

/** Event types and state keys, transaction and device ids: opaque text of bounded size, without control characters. */
export function isEventType(s: unknown): s is string {
  return typeof s === 'string' && fits(s) && !/\p{Cc}/u.test(s);
}

export function isStateKey(s: unknown): s is string {
  return typeof s === 'string' && Buffer.byteLength(s) <= MAX_ID_BYTES;
}

export function isTxnId(s: unknown): s is string {
  return typeof s === 'string' && fits(s) && !/\p{Cc}/u.test(s);
}

export function isDeviceId(s: unknown): s is string {
  return typeof s === 'string' && fits(s) && !NOT_IN_OPAQUE.test(s);
}

/** The same rules as zod schemas, for request bodies and queries. */
export const userIdSchema = z.string().refine(isUserId, 'must be a user id (@name:server, at most 255 bytes)');
export const roomIdSchema = z.string().refine(isRoomId, 'must be a room id (!opaque:server, at most 255 bytes)');
export const roomAliasSchema = z.string().refine(isRoomAlias, 'must be a room alias (#name:server, at most 255 bytes)');
export const eventIdSchema = z.string().refine(isEventId, 'must be an event id ($opaque, at most 255 bytes)');
export const eventTypeSchema = z.string().refine(isEventType, 'must be an event type (1 to 255 bytes)');
export const stateKeySchema = z.string().refine(isStateKey, 'must be a state key (at most 255 bytes)');

/** A media id (spec: the path of an mxc:// URI): 1 to 255 of A-Z, a-z, 0-9, '-' and '_', so never a path. */
export function isMediaId(s: unknown): s is string {
  return typeof s === 'string' && /^[A-Za-z0-9_-]{1,255}$/.test(s);
}
