/**
 * User ids (spec: "User Identifiers"): localparts of new accounts use the strict grammar [a-z0-9._=/+-];
 * clients name a user by full id or by localpart, and both mean the same account.
 */
import { badJson, invalidUsername } from '../errors.js';

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const MAX_USER_ID_LENGTH = 255;

export function userIdOf(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

/** Checks a requested localpart for a new account; throws M_INVALID_USERNAME with the reason. */
export function validateNewLocalpart(localpart: string, serverName: string): void {
  if (localpart.length === 0) throw invalidUsername('The user name must not be empty.');
  if (!LOCALPART.test(localpart)) {
    throw invalidUsername('User names may contain only lower-case letters, digits and . _ = - / +');
  }
  if (userIdOf(localpart, serverName).length > MAX_USER_ID_LENGTH) throw invalidUsername(`User ids must be at most ${MAX_USER_ID_LENGTH} characters.`);
  if (/^[0-9]+$/.test(localpart)) throw invalidUsername('Numeric user names are reserved for guest accounts.');
}

/** A user named by full id (@name:server) or localpart, lower-cased as login does; returns the full id. */
export function normalizeUserId(name: string, serverName: string): string {
  if (name.startsWith('@')) {
    const colon = name.indexOf(':');
    if (colon < 0) return name;
    return `@${name.slice(1, colon).toLowerCase()}${name.slice(colon)}`;
  }
  return userIdOf(name.toLowerCase(), serverName);
}

/**
 * The user an auth/login body names: `identifier` ({type: m.id.user, user}) or the legacy `user` field.
 * Third-party identifiers are not supported by this server.
 */
export function parseUserIdentifier(serverName: string, identifier: unknown, legacyUser: unknown): string {
  if (identifier !== undefined) {
    if (typeof identifier !== 'object' || identifier === null) throw badJson('identifier must be an object.');
    const { type, user } = identifier as { type?: unknown; user?: unknown };
    if (type !== 'm.id.user') throw badJson(`Unsupported identifier type ${JSON.stringify(type)}; this server supports m.id.user.`);
    if (typeof user !== 'string' || user.length === 0) throw badJson('identifier.user must be a non-empty string.');
    return normalizeUserId(user, serverName);
  }
  if (typeof legacyUser === 'string' && legacyUser.length > 0) return normalizeUserId(legacyUser, serverName);
  throw badJson('Missing identifier: send identifier {type: "m.id.user", user}.');
}
