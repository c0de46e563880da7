/** Sessions: login flows, password login, refresh, logout (one device or all) and whoami. */
import { z } from 'zod';
import { missingParam, unknownError } from '../errors.js';
import { loginWithPassword, logout, logoutAll } from '../relay/accounts.js';
import { refreshSession } from '../relay/sessions.js';
import { parseUserIdentifier } from '../relay/user-ids.js';
import { CLIENT_V3, route } from './route.js';

const loginBody = z.looseObject({
  type: z.string(),
  identifier: z.unknown().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  device_id: z.string().optional(),
  initial_device_display_name: z.string().max(1000).optional(),
  refresh_token: z.boolean().optional(),
});

export const sessionRoutes = [
  /** GET /_matrix/client/v3/login */
  route({
    operationId: 'getLoginFlows',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/login`,
    access: 'none',
    handler: async () => ({ flows: [{ type: 'm.login.password' }] }),
  }),
  /** POST /_matrix/client/v3/login */
  route({
    operationId: 'login',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/login`,
    access: 'none',
    body: loginBody,
    handler: async ({ hs, ctx, body }) => {
      if (body.type !== 'm.login.password') throw unknownError(400, `Unsupported login type ${body.type}; this server supports m.login.password.`);
      const userId = parseUserIdentifier(hs.config.serverName, body.identifier, body.user);
      await hs.limits.consume('login', `ip:${ctx.request.ip}`, `user:${userId}`);
      if (body.password === undefined) throw missingParam("Missing field 'password'.");
      const result = await loginWithPassword(hs, userId, body.password, {
        deviceId: body.device_id,
        initialDeviceDisplayName: body.initial_device_display_name,
        refreshToken: body.refresh_token,
      });
      return { ...result, home_server: hs.config.serverName, well_known: { 'm.homeserver': { base_url: hs.config.publicBaseUrl } } };
    },
  }),
  /** POST /_matrix/client/v3/refresh */
  route({
    operationId: 'refresh',
    method: 'POST',
    path: `${CLIENT_V3}/refresh`,
    access: 'none',
    body: z.object({ refresh_token: z.string() }),
    handler: async ({ hs, body }) => refreshSession(hs, body.refresh_token),
  }),
  /** POST /_matrix/client/v3/logout */
  route({
    operationId: 'logout',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/logout`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester }) => {
      await logout(hs, requester.userId, requester.deviceId);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/logout/all */
  route({
    operationId: 'logout_all',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/logout/all`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester }) => {
      await logoutAll(hs, requester.userId);
      return {};
    },
  }),
  /** GET /_matrix/client/v3/account/whoami */
  route({
    operationId: 'getTokenOwner',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/account/whoami`,
    access: 'user',
    guests: true,
    handler: async ({ requester }) => ({ user_id: requester.userId, device_id: requester.deviceId, is_guest: requester.isGuest }),
  }),
];
