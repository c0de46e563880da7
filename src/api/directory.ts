/**
 * Room and user discovery: local aliases of a room, the published room directory (visibility, GET/POST
 * /publicRooms), the space hierarchy and the user directory search.
 */
import { z } from 'zod';
import { getLocalAliases } from '../relay/directory/local-aliases.js';
import { getDirectoryVisibility, listPublicRooms, setDirectoryVisibility } from '../relay/directory/public-rooms.js';
import { getSpaceHierarchy } from '../relay/directory/hierarchy.js';
import { searchUserDirectory } from '../relay/directory/user-directory.js';
import { CLIENT_V1, CLIENT_V3, route } from './route.js';

/** A positive integer from a query string. */
const queryCount = z
  .string()
  .regex(/^[0-9]{1,9}$/, 'must be a non-negative integer')
  .transform(Number);

/** A body field that clients also send as null for "not given" (matrix-js-sdk sends `since: null`): null is absent. */
const absentIfNull = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

const publicRoomsBody = z.object({
  limit: absentIfNull(z.number().int().min(1)),
  since: absentIfNull(z.string().max(100)),
  filter: absentIfNull(
    z.object({
      generic_search_term: absentIfNull(z.string().max(1000)),
      room_types: absentIfNull(z.array(z.string().max(255).nullable()).max(100)),
    }),
  ),
  include_all_networks: absentIfNull(z.boolean()),
  third_party_instance_id: absentIfNull(z.string().max(255)),
});

export const directoryRoutes = [
  /** GET /_matrix/client/v3/rooms/{roomId}/aliases */
  route({
    operationId: 'getLocalAliases',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/aliases`,
    access: 'user',
    handler: async ({ hs, requester, params }) => getLocalAliases(hs, requester, params.roomId),
  }),
  /** GET /_matrix/client/v3/directory/list/room/{roomId} */
  route({
    operationId: 'getRoomVisibilityOnDirectory',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/directory/list/room/:roomId`,
    access: 'none',
    handler: async ({ hs, params }) => getDirectoryVisibility(hs, params.roomId),
  }),
  /** PUT /_matrix/client/v3/directory/list/room/{roomId} */
  route({
    operationId: 'setRoomVisibilityOnDirectory',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/directory/list/room/:roomId`,
    access: 'user',
    body: z.object({ visibility: z.enum(['public', 'private']).default('public') }),
    handler: async ({ hs, requester, params, body }) => {
      await setDirectoryVisibility(hs, requester, params.roomId, body.visibility);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/publicRooms */
  route({
    operationId: 'getPublicRooms',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/publicRooms`,
    access: 'none',
    limits: [{ name: 'directory_search' }],
    query: z.object({
      limit: queryCount.pipe(z.number().min(1, 'must be at least 1')).optional(),
      since: z.string().max(100).optional(),
      server: z.string().max(255).optional(),
    }),
    handler: async ({ hs, query }) => listPublicRooms(hs, query),
  }),
  /** POST /_matrix/client/v3/publicRooms */
  route({
    operationId: 'queryPublicRooms',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/publicRooms`,
    access: 'user',
    body: publicRoomsBody,
    limits: [{ name: 'directory_search' }],
    query: z.object({ server: z.string().max(255).optional() }),
    handler: async ({ hs, query, body }) => listPublicRooms(hs, { ...body, server: query.server }),
  }),
  /** GET /_matrix/client/v1/rooms/{roomId}/hierarchy */
  route({
    operationId: 'getSpaceHierarchy',
    method: 'GET',
    path: `${CLIENT_V1}/rooms/:roomId/hierarchy`,
    access: 'user',
    query: z.object({
      from: z.string().max(1000).optional(),
      limit: queryCount.pipe(z.number().min(1, 'must be at least 1')).optional(),
      max_depth: queryCount.optional(),
      suggested_only: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    }),
    handler: async ({ hs, requester, params, query }) => getSpaceHierarchy(hs, requester.userId, params.roomId, query),
  }),
  /** POST /_matrix/client/v3/user_directory/search */
  route({
    operationId: 'searchUserDirectory',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/user_directory/search`,
    access: 'user',
    body: z.object({ search_term: z.string().max(1000), limit: z.number().int().min(1).optional() }),
    limits: [{ name: 'directory_search' }],
    handler: async ({ hs, requester, body }) => searchUserDirectory(hs, requester.userId, body),
  }),
];
