/** GET /admin/whois/{userId}: a user's devices and sessions, for admins and the user themself (relay/whois.ts). */
import { whoIs } from '../relay/whois.js';
import { CLIENT_V3, route } from './route.js';

export const whoisRoutes = [
  /** GET /_matrix/client/v3/admin/whois/{userId} */
  route({
    operationId: 'getWhoIs',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/admin/whois/:userId`,
    access: 'user',
    handler: async ({ hs, requester, params }) => whoIs(hs, requester, params.userId),
  }),
];
