/** PUT /sendToDevice/{eventType}/{txnId}: messages for given devices or `*`, idempotent per transaction id. */
import { z } from 'zod';
import { invalidParam } from '../errors.js';
import { sendToDevice } from '../relay/to-device.js';
import { isEventType, isTxnId, userIdSchema } from '../lib/identifiers.js';
import { CLIENT_V3, route } from './route.js';

export const toDeviceRoutes = [
  /** PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId} */
  route({
    operationId: 'sendToDevice',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/sendToDevice/:eventType/:txnId`,
    access: 'user',
    guests: true,
    body: z.object({
      messages: z.record(userIdSchema, z.record(z.string(), z.record(z.string(), z.unknown()))),
    }),
    // One point per recipient device named ("*" is one).
    limits: [{ name: 'to_device', cost: ({ body }) => Object.values(body.messages).reduce((n, devices) => n + Object.keys(devices).length, 0) }],
    handler: async ({ hs, requester, params, body }) => {
      if (!isEventType(params.eventType)) throw invalidParam('Event types are 1 to 255 bytes.');
      if (!isTxnId(params.txnId)) throw invalidParam('Transaction ids are 1 to 255 bytes.');
      await sendToDevice(hs, requester, params.eventType, params.txnId, body.messages);
      return {};
    },
  }),
];
