/** Rooms and membership: createRoom, upgrade, joined_rooms, join (by id or alias), invite, leave, forget, kick, ban, unban. */
import { z } from 'zod';
import { badJson } from '../errors.js';
import { createRoom } from '../relay/rooms/create-room.js';
import { upgradeRoom } from '../relay/rooms/upgrade.js';
import { changeMembership, forgetRoom, joinedRooms, joinRoom, kick, knockRoom, leaveRoom, resolveRoomIdOrAlias, unban } from '../relay/rooms/membership.js';
import { eventTypeSchema, stateKeySchema, userIdSchema } from '../lib/identifiers.js';
import { CLIENT_V3, route } from './route.js';

const userId = userIdSchema;
const stateEvent = z.object({ type: eventTypeSchema, state_key: stateKeySchema.optional(), content: z.record(z.string(), z.unknown()) });

const createRoomBody = z.object({
  preset: z.enum(['private_chat', 'trusted_private_chat', 'public_chat']).optional(),
  visibility: z.enum(['public', 'private']).optional(),
  room_alias_name: z.string().max(255).optional(),
  name: z.string().max(255).optional(),
  topic: z.string().max(4096).optional(),
  invite: z.array(userId).max(100).optional(),
  invite_3pid: z.array(z.unknown()).max(0, 'third-party invites are not supported').optional(),
  is_direct: z.boolean().optional(),
  initial_state: z.array(stateEvent).max(100).optional(),
  power_level_content_override: z.record(z.string(), z.unknown()).optional(),
  creation_content: z.record(z.string(), z.unknown()).optional(),
  room_version: z.string().max(32).optional(),
});

const reasonBody = z.object({ reason: z.string().max(1000).optional() });
const targetBody = reasonBody.extend({ user_id: userId });

export const roomRoutes = [
  /** POST /_matrix/client/v3/createRoom */
  route({
    operationId: 'createRoom',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/createRoom`,
    access: 'user',
    body: createRoomBody,
    limits: [{ name: 'room_create' }, { name: 'invite', cost: ({ body }) => body.invite?.length ?? 0 }],
    handler: async ({ hs, requester, body }) => createRoom(hs, requester.userId, body),
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/upgrade */
  route({
    operationId: 'upgradeRoom',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/upgrade`,
    access: 'user',
    body: z.object({ new_version: z.string().max(32), additional_creators: z.array(userId).max(100).optional() }),
    limits: [{ name: 'room_create' }],
    handler: async ({ hs, requester, params, body }) => upgradeRoom(hs, requester.userId, params.roomId, body),
  }),
  /** GET /_matrix/client/v3/joined_rooms */
  route({
    operationId: 'getJoinedRooms',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/joined_rooms`,
    access: 'user',
    handler: async ({ hs, requester }) => ({ joined_rooms: await joinedRooms(hs, requester.userId) }),
  }),
  /** POST /_matrix/client/v3/join/{roomIdOrAlias} */
  route({
    operationId: 'joinRoom',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/join/:roomIdOrAlias`,
    access: 'user',
    // Guests too, as on /rooms/{roomId}/join: the authorization rules let them in only where guest_access is can_join.
    guests: true,
    body: reasonBody.extend({ third_party_signed: z.unknown().optional() }),
    query: z.object({ via: z.union([z.string(), z.array(z.string())]).optional(), server_name: z.union([z.string(), z.array(z.string())]).optional() }),
    handler: async ({ hs, requester, params, body }) => {
      if (body.third_party_signed !== undefined) throw badJson('Third-party invites are not supported.');
      const roomId = await resolveRoomIdOrAlias(hs, params.roomIdOrAlias);
      return { room_id: await joinRoom(hs, requester.userId, roomId, body.reason) };
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/join */
  route({
    operationId: 'joinRoomById',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/join`,
    access: 'user',
    guests: true,
    body: reasonBody.extend({ third_party_signed: z.unknown().optional() }),
    handler: async ({ hs, requester, params, body }) => {
      if (body.third_party_signed !== undefined) throw badJson('Third-party invites are not supported.');
      return { room_id: await joinRoom(hs, requester.userId, params.roomId, body.reason) };
    },
  }),
  /** POST /_matrix/client/v3/knock/{roomIdOrAlias} */
  route({
    operationId: 'knockRoom',
    method: 'POST',
    path: `${CLIENT_V3}/knock/:roomIdOrAlias`,
    access: 'user',
    body: reasonBody,
    query: z.object({ via: z.union([z.string(), z.array(z.string())]).optional(), server_name: z.union([z.string(), z.array(z.string())]).optional() }),
    handler: async ({ hs, requester, params, body }) => {
      const roomId = await resolveRoomIdOrAlias(hs, params.roomIdOrAlias);
      return { room_id: await knockRoom(hs, requester.userId, roomId, body.reason) };
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/invite */
  route({
    operationId: 'inviteUser',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/invite`,
    access: 'user',
    body: targetBody,
    limits: [{ name: 'invite' }],
    handler: async ({ hs, requester, params, body }) => {
      await changeMembership(hs, requester.userId, params.roomId, body.user_id, 'invite', { reason: body.reason });
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/leave */
  route({
    operationId: 'leaveRoom',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/leave`,
    access: 'user',
    guests: true,
    body: reasonBody,
    handler: async ({ hs, requester, params, body }) => {
      await leaveRoom(hs, requester.userId, params.roomId, body.reason);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/forget */
  route({
    operationId: 'forgetRoom',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/forget`,
    access: 'user',
    handler: async ({ hs, requester, params }) => {
      await forgetRoom(hs, requester.userId, params.roomId);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/kick */
  route({
    operationId: 'kick',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/kick`,
    access: 'user',
    body: targetBody,
    handler: async ({ hs, requester, params, body }) => {
      await kick(hs, requester.userId, params.roomId, body.user_id, body.reason);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/ban */
  route({
    operationId: 'ban',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/ban`,
    access: 'user',
    body: targetBody,
    handler: async ({ hs, requester, params, body }) => {
      await changeMembership(hs, requester.userId, params.roomId, body.user_id, 'ban', { reason: body.reason });
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/unban */
  route({
    operationId: 'unban',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/unban`,
    access: 'user',
    body: targetBody,
    handler: async ({ hs, requester, params, body }) => {
      await unban(hs, requester.userId, params.roomId, body.user_id, body.reason);
      return {};
    },
  }),
];
