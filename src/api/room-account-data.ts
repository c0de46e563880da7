/**
 * Per-room user data: GET/PUT /user/{userId}/rooms/{roomId}/account_data/{type} and the room tags (m.tag) under
 * /user/{userId}/rooms/{roomId}/tags. A user reads and writes only their own; /sync delivers every change.
 */
import { z } from 'zod';
import { getAccountData, setAccountData } from '../relay/account-data.js';
import { deleteTag, getTags, setTag } from '../relay/directory/tags.js';
import { CLIENT_V3, route } from './route.js';

/** Any JSON object, passed through as parsed (copying it key by key would drop a key named __proto__). */
const objectBody = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a JSON object');

const ROOM = `${CLIENT_V3}/user/:userId/rooms/:roomId`;

export const roomAccountDataRoutes = [
  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  route({
    operationId: 'setAccountDataPerRoom',
    r0: true,
    method: 'PUT',
    path: `${ROOM}/account_data/:type`,
    access: 'user',
    guests: true,
    body: objectBody,
    handler: async ({ hs, requester, params, body }) => {
      await setAccountData(hs, requester.userId, params.userId, params.roomId, params.type, body);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  route({
    operationId: 'getAccountDataPerRoom',
    r0: true,
    method: 'GET',
    path: `${ROOM}/account_data/:type`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getAccountData(hs, requester.userId, params.userId, params.roomId, params.type),
  }),
  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags */
  route({
    operationId: 'getRoomTags',
    r0: true,
    method: 'GET',
    path: `${ROOM}/tags`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getTags(hs, requester.userId, params.userId, params.roomId),
  }),
  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag} */
  route({
    operationId: 'setRoomTag',
    r0: true,
    method: 'PUT',
    path: `${ROOM}/tags/:tag`,
    access: 'user',
    guests: true,
    body: objectBody,
    handler: async ({ hs, requester, params, body }) => {
      await setTag(hs, requester.userId, params.userId, params.roomId, params.tag, body);
      return {};
    },
  }),
  /** DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag} */
  route({
    operationId: 'deleteRoomTag',
    r0: true,
    method: 'DELETE',
    path: `${ROOM}/tags/:tag`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => {
      await deleteTag(hs, requester.userId, params.userId, params.roomId, params.tag);
      return {};
    },
  }),
];
