/** Server-side key backup: /room_keys/version[/{version}] and /room_keys/keys[/{roomId}[/{sessionId}]]. */
import { z } from 'zod';
import * as backup from '../relay/keys/backup.js';
import { CLIENT_V3, route } from './route.js';

/** Stored in integer columns. */
const INT32_MAX = 2 ** 31 - 1;
const keyBackupData = z.object({
  first_message_index: z.number().int().min(0).max(INT32_MAX),
  forwarded_count: z.number().int().min(0).max(INT32_MAX),
  is_verified: z.boolean(),
  // Its shape is the blindness policy's (relay/policy/keys.ts): refused there with 403 naming the field.
  session_data: z.unknown(),
});
const sessions = z.record(z.string(), keyBackupData);
const versionQuery = z.object({ version: z.string() });
const versionBody = z.object({ algorithm: z.string().min(1).max(255), auth_data: z.unknown() });
const base = `${CLIENT_V3}/room_keys`;

export const keyBackupRoutes = [
  /** POST /_matrix/client/v3/room_keys/version */
  route({
    operationId: 'postRoomKeysVersion', method: 'POST', path: `${base}/version`, access: 'user', body: versionBody,
    handler: async ({ hs, requester, body }) => backup.createVersion(hs, requester.userId, body.algorithm, body.auth_data),
  }),
  /** GET /_matrix/client/v3/room_keys/version */
  route({
    operationId: 'getRoomKeysVersionCurrent', method: 'GET', path: `${base}/version`, access: 'user',
    handler: async ({ hs, requester }) => backup.getVersion(hs, requester.userId),
  }),
  /** GET /_matrix/client/v3/room_keys/version/{version} */
  route({
    operationId: 'getRoomKeysVersion', method: 'GET', path: `${base}/version/:version`, access: 'user',
    handler: async ({ hs, requester, params }) => backup.getVersion(hs, requester.userId, params.version),
  }),
  /** PUT /_matrix/client/v3/room_keys/version/{version} */
  route({
    operationId: 'putRoomKeysVersion', method: 'PUT', path: `${base}/version/:version`, access: 'user',
    body: versionBody.extend({ version: z.string().optional() }),
    handler: async ({ hs, requester, params, body }) => {
      await backup.updateVersion(hs, requester.userId, params.version, body);
      return {};
    },
  }),
  /** DELETE /_matrix/client/v3/room_keys/version/{version} */
  route({
    operationId: 'deleteRoomKeysVersion', method: 'DELETE', path: `${base}/version/:version`, access: 'user',
    handler: async ({ hs, requester, params }) => {
      await backup.deleteVersion(hs, requester.userId, params.version);
      return {};
    },
  }),
  /** PUT /_matrix/client/v3/room_keys/keys */
  route({
    operationId: 'putRoomKeys', method: 'PUT', path: `${base}/keys`, access: 'user', query: versionQuery,
    body: z.object({ rooms: z.record(z.string(), z.object({ sessions })) }),
    handler: async ({ hs, requester, query, body }) =>
      backup.putKeys(hs, requester.userId, query.version, Object.fromEntries(Object.entries(body.rooms).map(([r, v]) => [r, v.sessions]))),
  }),
  /** GET /_matrix/client/v3/room_keys/keys */
  route({
    operationId: 'getRoomKeys', method: 'GET', path: `${base}/keys`, access: 'user', query: versionQuery,
    handler: async ({ hs, requester, query }) => backup.getKeys(hs, requester.userId, query.version),
  }),
  /** DELETE /_matrix/client/v3/room_keys/keys */
  route({
    operationId: 'deleteRoomKeys', method: 'DELETE', path: `${base}/keys`, access: 'user', query: versionQuery,
    handler: async ({ hs, requester, query }) => backup.deleteKeys(hs, requester.userId, query.version),
  }),
  /** PUT /_matrix/client/v3/room_keys/keys/{roomId} */
  route({
    operationId: 'putRoomKeysByRoomId', method: 'PUT', path: `${base}/keys/:roomId`, access: 'user', query: versionQuery,
    body: z.object({ sessions }),
    handler: async ({ hs, requester, params, query, body }) => backup.putKeys(hs, requester.userId, query.version, { [params.roomId]: body.sessions }),
  }),
  /** GET /_matrix/client/v3/room_keys/keys/{roomId} */
  route({
    operationId: 'getRoomKeysByRoomId', method: 'GET', path: `${base}/keys/:roomId`, access: 'user', query: versionQuery,
    handler: async ({ hs, requester, params, query }) => backup.getKeys(hs, requester.userId, query.version, params.roomId),
  }),
  /** DELETE /_matrix/client/v3/room_keys/keys/{roomId} */
  route({
    operationId: 'deleteRoomKeysByRoomId', method: 'DELETE', path: `${base}/keys/:roomId`, access: 'user', query: versionQuery,
    handler: async ({ hs, requester, params, query }) => backup.deleteKeys(hs, requester.userId, query.version, params.roomId),
  }),
  /** PUT /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId} */
  route({
    operationId: 'putRoomKeyBySessionId', method: 'PUT', path: `${base}/keys/:roomId/:sessionId`, access: 'user', query: versionQuery,
    body: keyBackupData,
    handler: async ({ hs, requester, params, query, body }) =>
      backup.putKeys(hs, requester.userId, query.version, { [params.roomId]: { [params.sessionId]: body } }),
  }),
  /** GET /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId} */
  route({
    operationId: 'getRoomKeyBySessionId', method: 'GET', path: `${base}/keys/:roomId/:sessionId`, access: 'user', query: versionQuery,
    handler: async ({ hs, requester, params, query }) => backup.getKeys(hs, requester.userId, query.version, params.roomId, params.sessionId),
  }),
  /** DELETE /_matrix/client/v3/room_keys/keys/{roomId}/{sessionId} */
  route({
    operationId: 'deleteRoomKeyBySessionId', method: 'DELETE', path: `${base}/keys/:roomId/:sessionId`, access: 'user', query: versionQuery,
    handler: async ({ hs, requester, params, query }) => backup.deleteKeys(hs, requester.userId, query.version, params.roomId, params.sessionId),
  }),
];
