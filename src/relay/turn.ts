/**
 * TURN credentials for calls, in coturn's `use-auth-secret` (TURN REST API) scheme: the username is
 * `<expiry in Unix seconds>:<user id>` and the password base64(HMAC-SHA1(shared secret, username)), so coturn checks
 * them with the shared secret alone and refuses them once the expiry has passed. Nothing is stored.
 */
import { createHmac } from 'node:crypto';
import type { Config } from '../config.js';
import { guestForbidden } from '../errors.js';

export interface TurnCredentials {
  username: string;
  password: string;
  uris: string[];
  /** Seconds the credentials stay valid. */
  ttl: number;
}

/** The credentials for one user now; `{}` when no TURN server is configured (the spec's answer then). */
export function turnCredentials(config: Config, requester: { userId: string; isGuest: boolean }, nowMs = Date.now()): TurnCredentials | Record<string, never> {
  if (config.turnUris.length === 0 || config.turnSharedSecret === undefined) return {};
  if (requester.isGuest && !config.turnAllowGuests) throw guestForbidden('This server hands TURN credentials to registered accounts only.');
  const ttl = Math.floor(config.turnTtlMs / 1000);
  const username = `${Math.floor(nowMs / 1000) + ttl}:${requester.userId}`;
  const password = createHmac('sha1', config.turnSharedSecret).update(username, 'utf8').digest('base64');
  return { username, password, uris: config.turnUris, ttl };
}
