/**
 * Device management: list, read, rename (guests too), and delete (one or several, own devices only; deletion needs
 * the user's password through UIA, and removes the device's tokens and everything else tied to it).
 */
import { z } from 'zod';
import { getDevice, listDevices, removeDevices, renameDevice } from '../relay/devices.js';
import { endUia, requireUia } from '../relay/uia.js';
import { CLIENT_V3, route } from './route.js';

const uiaBody = z.object({ auth: z.unknown().optional() });

/** The UIA purpose of deleting these devices: the exact set, so that a session cannot delete other ones. */
function deletePurpose(ids: string[]): string {
  return `delete_devices:${JSON.stringify([...new Set(ids)].sort())}`;
}

export const deviceRoutes = [
  /** GET /_matrix/client/v3/devices */
  route({
    operationId: 'getDevices',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/devices`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester }) => ({ devices: await listDevices(hs, requester.userId) }),
  }),
  /** GET /_matrix/client/v3/devices/{deviceId} */
  route({
    operationId: 'getDevice',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/devices/:deviceId`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getDevice(hs, requester.userId, params.deviceId),
  }),
  /** PUT /_matrix/client/v3/devices/{deviceId} */
  route({
    operationId: 'updateDevice',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/devices/:deviceId`,
    access: 'user',
    guests: true,
    body: z.object({ display_name: z.string().max(1000).optional() }),
    handler: async ({ hs, requester, params, body }) => {
      await renameDevice(hs, requester.userId, params.deviceId, body.display_name);
      return {};
    },
  }),
  /** DELETE /_matrix/client/v3/devices/{deviceId} */
  route({
    operationId: 'deleteDevice',
    r0: true,
    method: 'DELETE',
    path: `${CLIENT_V3}/devices/:deviceId`,
    access: 'user',
    body: uiaBody,
    handler: async ({ hs, requester, params, body }) => {
      // Spec: 200 also when the device "had been removed previously"; only the requester's own devices are touched.
      const passed = await requireUia(hs, body.auth, {
        purpose: deletePurpose([params.deviceId]),
        flows: [['m.login.password']],
        userId: requester.userId,
      });
      await removeDevices(hs, requester.userId, [params.deviceId]);
      await endUia(hs, passed);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/delete_devices */
  route({
    operationId: 'deleteDevices',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/delete_devices`,
    access: 'user',
    body: uiaBody.extend({ devices: z.array(z.string()).max(1000) }),
    handler: async ({ hs, requester, body }) => {
      const ids = [...new Set(body.devices)];
      const passed = await requireUia(hs, body.auth, { purpose: deletePurpose(ids), flows: [['m.login.password']], userId: requester.userId });
      await removeDevices(hs, requester.userId, ids);
      await endUia(hs, passed);
      return {};
    },
  }),
];
