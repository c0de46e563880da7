/**
 * OpenID tokens: a user proves who they are to a third party (a widget, an integration manager, Element Call's
 * LiveKit token service) without giving it an access token. The token is random, lives an hour, is kept only as a
 * hash, and is good for one thing: the userinfo lookup, which answers the user id and nothing else.
 */
import type { Hs } from '../hs.js';
import { forbidden, unknownToken } from '../errors.js';
import { insertOpenIdToken, selectOpenIdTokenOwner } from '../db/openid-tokens.js';
import { hashToken, newSecretToken } from '../lib/tokens.js';

/** How long an OpenID token is accepted: long enough for a widget to use it at once, short enough to be useless later. */
export const OPENID_TOKEN_LIFETIME_MS = 3600_000;

export interface OpenIdToken {
  access_token: string;
  token_type: 'Bearer';
  matrix_server_name: string;
  expires_in: number;
}

/** Issues a token naming `requesterId`; a user may ask only for themself. */
export async function issueOpenIdToken(hs: Hs, requesterId: string, forUserId: string): Promise<OpenIdToken> {
  if (forUserId !== requesterId) throw forbidden('You can only request an OpenID token for yourself.');
  const token = newSecretToken('sco');
  const now = Date.now();
  await insertOpenIdToken(hs.sql, hashToken(token), requesterId, now + OPENID_TOKEN_LIFETIME_MS, now);
  return { access_token: token, token_type: 'Bearer', matrix_server_name: hs.config.serverName, expires_in: OPENID_TOKEN_LIFETIME_MS / 1000 };
}

/** The user an OpenID token names (`sub`); an unknown, expired or deactivated one is 401 M_UNKNOWN_TOKEN. */
export async function openIdUserInfo(hs: Hs, token: string): Promise<{ sub: string }> {
  const userId = await selectOpenIdTokenOwner(hs.sql, hashToken(token), Date.now());
  if (userId === undefined) throw unknownToken('Unknown or expired OpenID token.');
  return { sub: userId };
}
