/** Room aliases: PUT/GET/DELETE /directory/room/{roomAlias}. */
import { z } from 'zod';
import { checkAlias, deleteAlias, resolveAlias, setAlias } from '../relay/rooms/aliases.js';
import { roomIdSchema } from '../lib/identifiers.js';
import { CLIENT_V3, route } from './route.js';

export const aliasRoutes = [
  /** PUT /_matrix/client/v3/directory/room/{roomAlias} */
  route({
    operationId: 'setRoomAlias',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/directory/room/:roomAlias`,
    access: 'user',
    body: z.object({ room_id: roomIdSchema }),
    handler: async ({ hs, requester, params, body }) => {
      await setAlias(hs, requester.userId, params.roomAlias, body.room_id);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/directory/room/{roomAlias} */
  route({
    operationId: 'getRoomIdByAlias',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/directory/room/:roomAlias`,
    access: 'none',
    handler: async ({ hs, params }) => {
      checkAlias(params.roomAlias, hs.config.serverName);
      return { room_id: await resolveAlias(hs, params.roomAlias), servers: [hs.config.serverName] };
    },
  }),
  /** DELETE /_matrix/client/v3/directory/room/{roomAlias} */
  route({
    operationId: 'deleteRoomAlias',
    r0: true,
    method: 'DELETE',
    path: `${CLIENT_V3}/directory/room/:roomAlias`,
    access: 'user',
    handler: async ({ hs, requester, params }) => {
      await deleteAlias(hs, requester.userId, requester.isAdmin, params.roomAlias);
      return {};
    },
  }),
];
