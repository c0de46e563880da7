/** Global account data: GET/PUT /user/{userId}/account_data/{type}; a user reads and writes only their own. */
import { z } from 'zod';
import { setAccountData, getAccountData } from '../relay/account-data.js';
import { CLIENT_V3, route } from './route.js';

const GLOBAL = '';

/**
 * Any JSON object, passed through as parsed (the route has already refused non-objects): copying it key by key
 * would drop a key named __proto__.
 */
const contentSchema = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a JSON object');

export const accountDataRoutes = [
  /** PUT /_matrix/client/v3/user/{userId}/account_data/{type} */
  route({
    operationId: 'setAccountData',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/user/:userId/account_data/:type`,
    access: 'user',
    guests: true,
    body: contentSchema,
    handler: async ({ hs, requester, params, body }) => {
      await setAccountData(hs, requester.userId, params.userId, GLOBAL, params.type, body);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/user/{userId}/account_data/{type} */
  route({
    operationId: 'getAccountData',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/user/:userId/account_data/:type`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getAccountData(hs, requester.userId, params.userId, GLOBAL, params.type),
  }),
];
