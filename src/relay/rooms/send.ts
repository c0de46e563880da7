/**
 * Sending events: message events (through the encrypted-only policy), state events and redactions. A client's
 * transaction id, per device, makes a retry return the first event id without writing again; a state event identical
 * to the current one returns that one's id.
 */
import type { Hs, Requester } from '../../hs.js';
import { confirmToken, readTokenFacts } from '../authentication.js';
import { badJson } from '../../errors.js';
import * as eventsDb from '../../db/events.js';
import { isEventId } from '../../lib/identifiers.js';
import { appendEvent, joinedMembers, writeRoom, type EventDraft } from './append.js';
import { prefetchPushSettings, pushCacheOf } from '../push/notify.js';
import type { PushSettingsRow } from '../../db/notifications.js';
import { requireRoom } from './access.js';
import { roomVersionOf } from './room-versions.js';

export interface Txn {
  userId: string;
  deviceId: string;
  txnId: string;
}

/** Transaction ids are scoped per device and per endpoint (spec: "Transaction identifiers"): the request path. */
function txnScope(roomId: string, draft: EventDraft): string {
  if (draft.type === 'm.room.redaction') return `redact/${roomId}/${(draft.content.redacts as string | undefined) ?? draft.redacts ?? ''}`;
  return `send/${roomId}/${draft.type}`;
}

/**
 * Appends a client's event; with a txn, a retry returns the first event's id. The txn is looked up under the room
 * lock only (in the lock's round trip, see openRoom), before any check: a retry returns the first event id also once
 * the sender has left the room, and two racing retries of one txn write one event. A `requester` taken from the
 * session cache (a route with confirmsToken) has its token confirmed in the same round trip, before anything is
 * written or returned (relay/authentication.ts).
 */
export async function sendEvent(hs: Hs, sender: string, roomId: string, draft: EventDraft, txn?: Txn, requester?: Requester): Promise<string> {
  const key = txn ? { ...txn, scope: txnScope(roomId, draft) } : undefined;
  // Read behind the lock in its round trip: the txn's first event id, the members' push settings for this sender and
  // the facts of a token to confirm.
  return writeRoom<string, [string | undefined, PushSettingsRow[], void]>(
    hs,
    roomId,
    async (room, read) => {
      const [prior, pushSettings] = read!;
      if (prior) return prior;
      room.push = pushCacheOf(sender, joinedMembers(room), pushSettings);
      // A state event identical to the current one returns the current event's id and writes nothing.
      const row = await appendEvent(hs, room, sender, draft, { txn: key, last: true, unchangedStateIsNoop: draft.state_key !== undefined });
      return row.eventId;
    },
    (tx) =>
      Promise.all([
        key ? eventsDb.selectEventTxn(tx, key) : undefined,
        prefetchPushSettings(tx, roomId, sender),
        // Refused here, the read's own promise: a 401 comes before whatever the room's row would say (a 404).
        requester ? readTokenFacts(tx, requester)?.then((facts) => confirmToken(hs, requester, facts)) : undefined,
      ]),
  );
}

/** `body` is what the client sent (its reason, if any); the policy decides what of it a redaction may carry. */
export async function redactEvent(hs: Hs, sender: string, roomId: string, eventId: string, body: Record<string, unknown>, txn: Txn): Promise<string> {
  const version = roomVersionOf((await requireRoom(hs.sql, roomId)).roomVersion);
  if (!isEventId(eventId)) throw badJson('Not an event id: event ids start with $ and are at most 255 bytes.');
  const { redacts: _ignored, ...content } = body;
  const draft: EventDraft = { type: 'm.room.redaction', content };
  if (version.redactsInContent) content.redacts = eventId;
  else draft.redacts = eventId;
  return sendEvent(hs, sender, roomId, draft, txn);
}
