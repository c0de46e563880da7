/**
 * Reads the access token of a request (`Authorization: Bearer`, or the `access_token` query parameter while an
 * advertised spec version still defines it: relay/versions.ts) and has relay/authentication.ts resolve it to the
 * requesting user and device.
 */
import type { Context } from 'koa';
import { missingToken } from '../errors.js';
import type { Hs, Requester } from '../hs.js';
import { resolveRequester } from '../relay/authentication.js';
import { ACCEPTS_QUERY_ACCESS_TOKEN, LAST_VERSION_WITH_QUERY_ACCESS_TOKEN } from '../relay/versions.js';

/** The query parameter older clients send the token in (deprecated in v1.11 by MSC4126, removed after v1.19 by MSC4127). */
export const QUERY_TOKEN_PARAM = 'access_token';

export function bearerToken(ctx: Context, acceptQueryToken = ACCEPTS_QUERY_ACCESS_TOKEN): string | undefined {
  const header = ctx.get('authorization');
  const query = ctx.query[QUERY_TOKEN_PARAM];
  if (query !== undefined) {
    if (!acceptQueryToken) {
      throw missingToken(
        `Access tokens in the query string are not accepted (removed from the spec after ${LAST_VERSION_WITH_QUERY_ACCESS_TOKEN}); send "Authorization: Bearer <token>".`,
      );
    }
    // As Synapse does: one token, from one place.
    if (header) throw missingToken('Send the access token either in the Authorization header or in the access_token query parameter, not both.');
    if (Array.isArray(query)) throw missingToken('The access_token query parameter may appear only once.');
    if (query === '') throw missingToken('Missing access token.');
    return query;
  }
  return bearerFromHeader(header);
}

/** The token of an Authorization header: undefined when there is none, refused when it is not "Bearer <token>". */
export function bearerFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw missingToken('The Authorization header must be "Bearer <access token>".');
  return m[1];
}

/**
 * The requester, or undefined when no token was sent and none is required. `confirmedByHandler`: the handler's own
 * read confirms the token, so a cached session may stand in for the token query (relay/authentication.ts).
 */
export async function authenticate(hs: Hs, ctx: Context, required: boolean, confirmedByHandler = false): Promise<Requester | undefined> {
  const token = bearerToken(ctx);
  if (token === undefined) {
    if (required) throw missingToken('Missing access token.');
    return undefined;
  }
  return resolveRequester(hs, token, confirmedByHandler);
}
