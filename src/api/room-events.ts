/**
 * Room events: send (message events, through the encrypted-only policy), state (put and get), redact, a single
 * event, /messages, timestamp_to_event, members and joined members.
 */
import { z } from 'zod';
import { invalidParam } from '../errors.js';
import { sendEvent, redactEvent } from '../relay/rooms/send.js';
import { getJoinedMembers, getMembers, getMessages, getRoomEvent, getRoomState, getRoomStateEvent } from '../relay/rooms/read.js';
import { clientEvent } from '../relay/rooms/events.js';
import { isEventType, isTxnId } from '../lib/identifiers.js';
import { eventByTimestamp } from '../relay/rooms/timestamp-to-event.js';
import { CLIENT_V1, CLIENT_V3, route } from './route.js';
import { parseRoomEventFilterParam } from './json-param.js';

const content = z.record(z.string(), z.unknown());
const eventType = (t: string) => {
  if (!isEventType(t)) throw invalidParam('Event types are 1 to 255 bytes.');
  return t;
};
const txnId = (t: string) => {
  if (!isTxnId(t)) throw invalidParam('Transaction ids are 1 to 255 bytes.');
  return t;
};


export const roomEventRoutes = [
  /** PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} */
  route({
    operationId: 'sendMessage',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/rooms/:roomId/send/:eventType/:txnId`,
    access: 'user',
    guests: true,
    // The send confirms a cached session in its transaction's first round trip, before it writes (rooms/send.ts).
    confirmsToken: true,
    body: content,
    limits: [{ name: 'room_send' }],
    handler: async ({ hs, requester, params, body }) => {
      const draft = { type: eventType(params.eventType), content: body };
      const txn = { userId: requester.userId, deviceId: requester.deviceId, txnId: txnId(params.txnId) };
      return { event_id: await sendEvent(hs, requester.userId, params.roomId, draft, txn, requester) };
    },
  }),
  /** PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} (state key optional: empty) */
  route({
    operationId: 'setRoomStateWithKey',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/rooms/:roomId/state/:eventType{/:stateKey}`,
    access: 'user',
    guests: true,
    body: content,
    limits: [{ name: 'room_send' }, { name: 'invite', cost: ({ params, body }) => (params.eventType === 'm.room.member' && body.membership === 'invite' ? 1 : 0) }],
    handler: async ({ hs, requester, params, body }) => {
      const draft = { type: eventType(params.eventType), state_key: params.stateKey ?? '', content: body };
      return { event_id: await sendEvent(hs, requester.userId, params.roomId, draft) };
    },
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} (state key optional: empty) */
  route({
    operationId: 'getRoomStateWithKey',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/state/:eventType{/:stateKey}`,
    access: 'user',
    guests: true,
    query: z.object({ format: z.enum(['content', 'event']).default('content') }),
    handler: async ({ hs, requester, params, query }) => {
      const row = await getRoomStateEvent(hs, requester.userId, params.roomId, params.eventType, params.stateKey ?? '');
      if (query.format === 'content') return row.content;
      return clientEvent(row);
    },
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/state */
  route({
    operationId: 'getRoomState',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/state`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getRoomState(hs, requester.userId, params.roomId),
  }),
  /** PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId} */
  route({
    operationId: 'redactEvent',
    r0: true,
    method: 'PUT',
    path: `${CLIENT_V3}/rooms/:roomId/redact/:eventId/:txnId`,
    access: 'user',
    // The body is the redaction's content (a reason, if any): the policy checks its shape like any clear event's.
    body: content,
    limits: [{ name: 'room_send' }],
    handler: async ({ hs, requester, params, body }) => {
      const txn = { userId: requester.userId, deviceId: requester.deviceId, txnId: txnId(params.txnId) };
      return { event_id: await redactEvent(hs, requester.userId, params.roomId, params.eventId, body, txn) };
    },
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} */
  route({
    operationId: 'getOneRoomEvent',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/event/:eventId`,
    access: 'user',
    guests: true,
    handler: async ({ hs, requester, params }) => getRoomEvent(hs, requester.userId, params.roomId, params.eventId),
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/messages */
  route({
    operationId: 'getRoomEvents',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/messages`,
    access: 'user',
    guests: true,
    query: z.object({
      from: z.string().optional(),
      to: z.string().optional(),
      dir: z.enum(['b', 'f']),
      limit: z.coerce.number().int().min(1).max(1000).default(10),
      filter: z.string().optional(),
    }),
    handler: async ({ hs, requester, params, query }) =>
      getMessages(hs, requester.userId, params.roomId, { ...query, filter: parseRoomEventFilterParam(query.filter) }),
  }),
  /** GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event (v1.6) */
  route({
    operationId: 'getEventByTimestamp',
    method: 'GET',
    path: `${CLIENT_V1}/rooms/:roomId/timestamp_to_event`,
    access: 'user',
    query: z.object({
      // Digits only (no '', '1e3' or '0x10', which Number() would take), within the integers a bigint and JSON share.
      ts: z
        .string()
        .regex(/^-?\d{1,16}$/)
        .transform(Number)
        .refine((n) => Number.isSafeInteger(n)),
      dir: z.enum(['b', 'f']),
    }),
    handler: async ({ hs, requester, params, query }) => eventByTimestamp(hs, requester.userId, params.roomId, query.ts, query.dir),
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/members */
  route({
    operationId: 'getMembersByRoom',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/members`,
    access: 'user',
    guests: true,
    query: z.object({
      at: z.string().optional(),
      membership: z.enum(['join', 'invite', 'knock', 'leave', 'ban']).optional(),
      not_membership: z.enum(['join', 'invite', 'knock', 'leave', 'ban']).optional(),
    }),
    handler: async ({ hs, requester, params, query }) => ({ chunk: await getMembers(hs, requester.userId, params.roomId, query) }),
  }),
  /** GET /_matrix/client/v3/rooms/{roomId}/joined_members */
  route({
    operationId: 'getJoinedMembersByRoom',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/rooms/:roomId/joined_members`,
    access: 'user',
    handler: async ({ hs, requester, params }) => getJoinedMembers(hs, requester.userId, params.roomId),
  }),
];
