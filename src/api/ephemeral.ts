/**
 * Ephemeral room data: typing notifications, receipts and read markers. The rules live in relay/ephemeral
 * (set-typing.ts, receipts.ts); here only the shapes of the requests.
 */
import { z } from 'zod';
import { invalidParam } from '../errors.js';
import { setTyping } from '../relay/ephemeral/set-typing.js';
import { postReceipt, RECEIPT_TYPES, setMarkers, type ReceiptType } from '../relay/ephemeral/receipts.js';
import { CLIENT_V3, route } from './route.js';

export const ephemeralRoutes = [
  /** PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId} */
  route({
    operationId: 'setTyping',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/rooms/:roomId/typing/:userId`,
    access: 'user',
    guests: true,
    body: z.object({ typing: z.boolean(), timeout: z.number().int().min(0).optional() }),
    handler: async ({ hs, requester, params, body }) => {
      await setTyping(hs, requester.userId, params.userId, params.roomId, body.typing, body.timeout);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId} */
  route({
    operationId: 'postReceipt',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/receipt/:receiptType/:eventId`,
    access: 'user',
    guests: true,
    body: z.object({ thread_id: z.unknown().optional() }),
    handler: async ({ hs, requester, params, body }) => {
      if (!(RECEIPT_TYPES as readonly string[]).includes(params.receiptType)) {
        throw invalidParam(`Receipt type must be one of ${RECEIPT_TYPES.join(', ')}.`);
      }
      const threadId = body.thread_id;
      if (threadId !== undefined && (typeof threadId !== 'string' || threadId === '')) throw invalidParam('thread_id field must be a non-empty string.');
      await postReceipt(hs, requester.userId, params.roomId, params.receiptType as ReceiptType, params.eventId, threadId);
      return {};
    },
  }),
  /** POST /_matrix/client/v3/rooms/{roomId}/read_markers */
  route({
    operationId: 'setReadMarker',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/rooms/:roomId/read_markers`,
    access: 'user',
    guests: true,
    body: z.object({ 'm.fully_read': z.string().optional(), 'm.read': z.string().optional(), 'm.read.private': z.string().optional() }),
    handler: async ({ hs, requester, params, body }) => {
      await setMarkers(hs, requester.userId, params.roomId, body);
      return {};
    },
  }),
];
