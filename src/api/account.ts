/** Account management: password change and deactivation, both behind UIA with the account's password. */
import { z } from 'zod';
import { changePassword, deactivateAccount } from '../relay/accounts.js';
import { endUia, requireUia } from '../relay/uia.js';
import { CLIENT_V3, route } from './route.js';

export const accountRoutes = [
  /** POST /_matrix/client/v3/account/password */
  route({
    operationId: 'changePassword',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/password`,
    access: 'user',
    body: z.object({ new_password: z.string(), logout_devices: z.boolean().default(true), auth: z.unknown().optional() }),
    handler: async ({ hs, requester, body }) => {
      const passed = await requireUia(hs, body.auth, { purpose: 'change_password', flows: [['m.login.password']], userId: requester.userId });
      await changePassword(hs, requester.userId, requester.deviceId, body.new_password, body.logout_devices);
      await endUia(hs, passed);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/account/deactivate */
  route({
    operationId: 'deactivateAccount',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/account/deactivate`,
    access: 'user',
    body: z.object({ erase: z.boolean().default(false), id_server: z.string().optional(), auth: z.unknown().optional() }),
    handler: async ({ hs, requester, body }) => {
      const passed = await requireUia(hs, body.auth, { purpose: 'deactivate', flows: [['m.login.password']], userId: requester.userId });
      await deactivateAccount(hs, requester.userId, body.erase);
      await endUia(hs, passed);
      // Spec: "success" when the server has no third-party identifiers to unbind (this server never binds any).
      return { id_server_unbind_result: 'success' };
    },
  }),
];
