/** Filters: POST /user/{userId}/filter and GET /user/{userId}/filter/{filterId}. */
import { uploadedFilterSchema } from '../relay/filters.js';
import { defineFilter, getFilter } from '../relay/stored-filters.js';
import { CLIENT_V3, route } from './route.js';

export const filterRoutes = [
  /** POST /_matrix/client/v3/user/{userId}/filter */
  route({
    operationId: 'defineFilter',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/user/:userId/filter`,
    access: 'user',
    guests: true,
    body: uploadedFilterSchema,
    handler: async ({ hs, requester, params, body }) => ({ filter_id: await defineFilter(hs, requester.userId, params.userId, body) }),
  }),
  /** GET /_matrix/client/v3/user/{userId}/filter/{filterId} */
  route({
    operationId: 'getFilter',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/user/:userId/filter/:filterId`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getFilter(hs, requester.userId, params.userId, params.filterId),
  }),
];
