/**
 * Reads the access token of a request (Authorization: Bearer only; the query-string form was removed from the
 * spec and is refused) and has relay/authentication.ts resolve it to the requesting user and device.
 */
import type { Context } from 'koa';
import { missingToken } from '../errors.js';
import type { Hs, Requester } from '../hs.js';
import { resolveRequester } from '../relay/authentication.js';

export function bearerToken(ctx: Context): string | undefined {
  if (ctx.query.access_token !== undefined) {
    throw missingToken('Access tokens in the query string are not accepted (removed in Matrix v1.11); send "Authorization: Bearer <token>".');
  }
  const header = ctx.get('authorization');
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
