/**
 * The admin API under /_securecomm/admin/v1 (server admins only, `access: 'admin'`): accounts, their devices,
 * registration tokens and rooms. Bodies are strict (an unknown field is a mistake); each handler is one relay call.
 */
import { z } from 'zod';
import { createRegistrationToken, listRegistrationTokens, revokeRegistrationToken } from '../relay/admin/registration-tokens.js';
import { deleteRoom, listRooms } from '../relay/admin/rooms.js';
import { deleteMediaItem, deleteUserMedia } from '../relay/admin/media.js';
import { createUser, deactivateUser, deleteUserDevice, getUser, listUserDevices, listUsers, resetPassword } from '../relay/admin/users.js';
import { route } from './route.js';

const ADMIN_V1 = '/_securecomm/admin/v1';

/** Paging: `limit` (1 to 1000, default 100) and `from`, the `next_from` of the previous page. */
const page = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  from: z.string().min(1).optional(),
};

export const adminRoutes = [
  /** POST /_securecomm/admin/v1/users */
  route({
    operationId: 'adminCreateUser',
    method: 'POST',
    path: `${ADMIN_V1}/users`,
    access: 'admin',
    body: z.strictObject({
      username: z.string().min(1).max(255),
      password: z.string().optional(),
      admin: z.boolean().default(false),
      bot: z.boolean().default(false),
      device_display_name: z.string().max(1000).optional(),
    }),
    handler: async ({ hs, requester, body }) =>
      createUser(hs, requester.userId, { username: body.username, password: body.password, admin: body.admin, bot: body.bot, deviceDisplayName: body.device_display_name }),
  }),
  /** GET /_securecomm/admin/v1/users */
  route({
    operationId: 'adminListUsers',
    method: 'GET',
    path: `${ADMIN_V1}/users`,
    access: 'admin',
    query: z.object({ ...page, search: z.string().min(1).max(255).optional() }),
    handler: async ({ hs, query }) => listUsers(hs, query),
  }),
  /** GET /_securecomm/admin/v1/users/{userId} */
  route({
    operationId: 'adminGetUser',
    method: 'GET',
    path: `${ADMIN_V1}/users/:userId`,
    access: 'admin',
    handler: async ({ hs, params }) => getUser(hs, params.userId),
  }),
  /** POST /_securecomm/admin/v1/users/{userId}/deactivate */
  route({
    operationId: 'adminDeactivateUser',
    method: 'POST',
    path: `${ADMIN_V1}/users/:userId/deactivate`,
    access: 'admin',
    body: z.strictObject({ erase: z.boolean().default(false) }),
    handler: async ({ hs, requester, params, body }) => {
      await deactivateUser(hs, requester.userId, params.userId, body.erase);
      return {};
    },
  }),
  /** POST /_securecomm/admin/v1/users/{userId}/password */
  route({
    operationId: 'adminResetPassword',
    method: 'POST',
    path: `${ADMIN_V1}/users/:userId/password`,
    access: 'admin',
    body: z.strictObject({ new_password: z.string(), logout_devices: z.boolean().default(true) }),
    handler: async ({ hs, requester, params, body }) => {
      await resetPassword(hs, requester.userId, params.userId, body.new_password, body.logout_devices);
      return {};
    },
  }),
  /** GET /_securecomm/admin/v1/users/{userId}/devices */
  route({
    operationId: 'adminListUserDevices',
    method: 'GET',
    path: `${ADMIN_V1}/users/:userId/devices`,
    access: 'admin',
    handler: async ({ hs, params }) => ({ devices: await listUserDevices(hs, params.userId) }),
  }),
  /** DELETE /_securecomm/admin/v1/users/{userId}/devices/{deviceId} */
  route({
    operationId: 'adminDeleteUserDevice',
    method: 'DELETE',
    path: `${ADMIN_V1}/users/:userId/devices/:deviceId`,
    access: 'admin',
    handler: async ({ hs, requester, params }) => {
      await deleteUserDevice(hs, requester.userId, params.userId, params.deviceId);
      return {};
    },
  }),
  /** POST /_securecomm/admin/v1/registration_tokens */
  route({
    operationId: 'adminCreateRegistrationToken',
    method: 'POST',
    path: `${ADMIN_V1}/registration_tokens`,
    access: 'admin',
    body: z.strictObject({
      token: z.string().optional(),
      uses_allowed: z.number().int().nullable().optional(),
      expiry_time: z.number().int().nullable().optional(),
    }),
    handler: async ({ hs, requester, body }) =>
      createRegistrationToken(hs, requester.userId, { token: body.token, usesAllowed: body.uses_allowed, expiryTime: body.expiry_time }),
  }),
  /** GET /_securecomm/admin/v1/registration_tokens */
  route({
    operationId: 'adminListRegistrationTokens',
    method: 'GET',
    path: `${ADMIN_V1}/registration_tokens`,
    access: 'admin',
    handler: async ({ hs }) => ({ registration_tokens: await listRegistrationTokens(hs) }),
  }),
  /** DELETE /_securecomm/admin/v1/registration_tokens/{token} */
  route({
    operationId: 'adminRevokeRegistrationToken',
    method: 'DELETE',
    path: `${ADMIN_V1}/registration_tokens/:token`,
    access: 'admin',
    handler: async ({ hs, requester, params }) => {
      await revokeRegistrationToken(hs, requester.userId, params.token);
      return {};
    },
  }),
  /** GET /_securecomm/admin/v1/rooms */
  route({
    operationId: 'adminListRooms',
    method: 'GET',
    path: `${ADMIN_V1}/rooms`,
    access: 'admin',
    query: z.object(page),
    handler: async ({ hs, query }) => listRooms(hs, query),
  }),
  /** DELETE /_securecomm/admin/v1/rooms/{roomId} */
  route({
    operationId: 'adminDeleteRoom',
    method: 'DELETE',
    path: `${ADMIN_V1}/rooms/:roomId`,
    access: 'admin',
    handler: async ({ hs, requester, params }) => {
      const { removed } = await deleteRoom(hs, requester.userId, params.roomId);
      return { removed_members: removed };
    },
  }),
  /** DELETE /_securecomm/admin/v1/media/{serverName}/{mediaId} */
  route({
    operationId: 'adminDeleteMedia',
    method: 'DELETE',
    path: `${ADMIN_V1}/media/:serverName/:mediaId`,
    access: 'admin',
    handler: async ({ hs, requester, params }) => {
      await deleteMediaItem(hs, requester.userId, params.serverName, params.mediaId);
      return {};
    },
  }),
  /** DELETE /_securecomm/admin/v1/users/{userId}/media */
  route({
    operationId: 'adminDeleteUserMedia',
    method: 'DELETE',
    path: `${ADMIN_V1}/users/:userId/media`,
    access: 'admin',
    handler: async ({ hs, requester, params }) => deleteUserMedia(hs, requester.userId, params.userId),
  }),
];
