/** Presence: set one's own, read one's own or a room-mate's (relay/ephemeral/user-presence.ts). Guests too. */
import { z } from 'zod';
import { getPresence, setPresence } from '../relay/ephemeral/user-presence.js';
import { MAX_STATUS_MSG_LENGTH } from '../relay/ephemeral/presence.js';
import { CLIENT_V3, route } from './route.js';

export const presenceRoutes = [
  /** PUT /_matrix/client/v3/presence/{userId}/status */
  route({
    operationId: 'setPresence',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/presence/:userId/status`,
    access: 'user',
    guests: true,
    body: z.object({ presence: z.enum(['online', 'offline', 'unavailable']), status_msg: z.string().max(MAX_STATUS_MSG_LENGTH).optional() }),
    handler: async ({ hs, requester, params, body }) => {
      await setPresence(hs, requester.userId, params.userId, body.presence, body.status_msg);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/presence/{userId}/status */
  route({
    operationId: 'getPresence',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/presence/:userId/status`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getPresence(hs, requester.userId, params.userId),
  }),
];
