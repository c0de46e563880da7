/**
 * Event relationships over HTTP: /relations (with rel type and event type), /threads and /context. Queries are
 * validated here (bad dir, limit, recurse or filter: 400 M_INVALID_PARAM) before the relay reads anything.
 */
import { z } from 'zod';
import { getRelatingEvents, getThreadRoots } from '../relay/rooms/relations.js';
import { getEventContext } from '../relay/rooms/context.js';
import { CLIENT_V1, CLIENT_V3, route } from './route.js';
import { parseRoomEventFilterParam } from './json-param.js';

const relationsQuery = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).default(10),
  dir: z.enum(['b', 'f']).default('b'),
  recurse: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});


const relationsRoute = (operationId: string, suffix: string) =>
  route({
    operationId,
    method: 'GET',
    path: `${CLIENT_V1}/rooms/:roomId/relations/:eventId${suffix}`,
    access: 'user',
    query: relationsQuery,
    handler: async ({ hs, requester, params, query }) =>
      getRelatingEvents(hs, requester.userId, params.roomId, params.eventId, { ...query, relType: params.relType, eventType: params.eventType }),
  });

export const relationRoutes = [
  /** GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId} */
  relationsRoute('getRelatingEvents', ''),
  /** GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType} */
  relationsRoute('getRelatingEventsWithRelType', '/:relType'),
  /** GET /_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType} */
  relationsRoute('getRelatingEventsWithRelTypeAndEventType', '/:relType/:eventType'),
  /** GET /_matrix/client/v1/rooms/{roomId}/threads */
  route({
    operationId: 'getThreadRoots',
    method: 'GET',
    path: `${CLIENT_V1}/rooms/:roomId/threads`,
    access: 'user',
    query: z.object({
      include: z.enum(['all', 'participated']).default('all'),
      from: z.string().optional(),
      limit: z.coerce.number().int().min(1).default(10),
    }),
    handler: async ({ hs, requester, params, query }) => getThreadRoots(hs, requester.userId, params.roomId, query),
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/context/{eventId} */
  route({
    operationId: 'getEventContext',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/context/:eventId`,
    access: 'user',
    guests: true,
    query: z.object({
      limit: z.coerce.number().int().min(0).default(10),
      filter: z.string().optional(),
    }),
    handler: async ({ hs, requester, params, query }) =>
      getEventContext(hs, requester.userId, params.roomId, params.eventId, { limit: query.limit, filter: parseRoomEventFilterParam(query.filter) }),
  }),
];
