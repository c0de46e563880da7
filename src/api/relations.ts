/**
 * Event relationships over HTTP: /relations (with rel type and event type), /threads and /context. Queries are
 * validated here (bad dir, limit, recurse or filter: 400 M_INVALID_PARAM) before the relay reads anything.
 */
import { z } from 'zod';
import { invalidParam } from '../errors.js';
import { filterSchema } from '../relay/filters.js';
import { getRelatingEvents, getThreadRoots } from '../relay/rooms/relations.js';
import { getEventContext } from '../relay/rooms/context.js';
import { CLIENT_V1, CLIENT_V3, parseInput, route } from './route.js';

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

/** The `filter` query parameter of /context: a JSON RoomEventFilter. */
function parseRoomFilter(raw: string | undefined) {
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw invalidParam('filter must be a JSON object.');
  }
  return parseInput(filterSchema.shape.room.unwrap().shape.timeline.unwrap(), json, 'query');
}

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
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/context/:eventId`,
    access: 'user',
    guests: true,
    query: z.object({
      limit: z.coerce.number().int().min(0).default(10),
      filter: z.string().optional(),
    }),
    handler: async ({ hs, requester, params, query }) =>
      getEventContext(hs, requester.userId, params.roomId, params.eventId, { limit: query.limit, filter: parseRoomFilter(query.filter) }),
  }),
];
