/** Profiles: GET /profile/{userId}, and GET/PUT/DELETE /profile/{userId}/{keyName}. */
import { z } from 'zod';
import { deleteProfileField, getProfile, getProfileField, setProfileField } from '../relay/profile.js';
import { CLIENT_V3, route } from './route.js';

export const profileRoutes = [
  /** GET /_matrix/client/v3/profile/{userId} */
  route({
    operationId: 'getUserProfile',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/profile/:userId`,
    access: 'optional',
    guests: true,
    handler: async ({ hs, params }) => getProfile(hs, params.userId),
  }),
  /** GET /_matrix/client/v3/profile/{userId}/{keyName} */
  route({
    operationId: 'getProfileField',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/profile/:userId/:keyName`,
    access: 'optional',
    guests: true,
    handler: async ({ hs, params }) => getProfileField(hs, params.userId, params.keyName),
  }),
  /** PUT /_matrix/client/v3/profile/{userId}/{keyName} */
  route({
    operationId: 'setProfileField',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/profile/:userId/:keyName`,
    access: 'user',
    guests: true,
    body: z.record(z.string(), z.unknown()),
    handler: async ({ hs, requester, params, body }) => {
      await setProfileField(hs, requester.userId, params.userId, params.keyName, body);
      return {};
    },
  }),
  /** DELETE /_matrix/client/v3/profile/{userId}/{keyName} */
  route({
    operationId: 'deleteProfileField',
    method: 'DELETE',
    path: `${CLIENT_V3}/profile/:userId/:keyName`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => {
      await deleteProfileField(hs, requester.userId, params.userId, params.keyName);
      return {};
    },
  }),
];
