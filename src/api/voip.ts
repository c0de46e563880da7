/** VoIP: TURN server credentials for calls (relay/turn.ts). Guests get them only when TURN_ALLOW_GUESTS is on. */
import { turnCredentials } from '../relay/turn.js';
import { CLIENT_V3, route } from './route.js';

export const voipRoutes = [
  /** GET /_matrix/client/v3/voip/turnServer */
  route({
    operationId: 'getTurnServer',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/voip/turnServer`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester }) => turnCredentials(hs.config, requester),
  }),
];
