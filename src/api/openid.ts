/**
 * OpenID: a user asks for a token to show a third party, and the third party asks who the token names. The second
 * endpoint is the one piece of the federation API served here; it takes the OpenID token, never an access token.
 */
import { z } from 'zod';
import { issueOpenIdToken, openIdUserInfo } from '../relay/openid.js';
import { CLIENT_V3, route } from './route.js';

export const openIdRoutes = [
  /** POST /_matrix/client/v3/user/{userId}/openid/request_token */
  route({
    operationId: 'requestOpenIdToken',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/user/:userId/openid/request_token`,
    access: 'user',
    body: z.object({}),
    handler: async ({ hs, requester, params }) => issueOpenIdToken(hs, requester.userId, params.userId),
  }),
  /** GET /_matrix/federation/v1/openid/userinfo */
  route({
    operationId: 'exchangeOpenIdToken',
    method: 'GET',
    path: '/_matrix/federation/v1/openid/userinfo',
    access: 'none',
    query: z.object({ access_token: z.string() }),
    handler: async ({ hs, query }) => openIdUserInfo(hs, query.access_token),
  }),
];
