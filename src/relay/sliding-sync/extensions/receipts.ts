/**
 * The receipts extension (MSC3960): the m.receipt event of each joined room in scope (scope.ts) whose receipts
 * changed between the client's pos and the watermark; all of a room's receipts when the room is new to the
 * connection (or sent from scratch); for a room that came back into scope, those changed after the position the
 * client had them up to when it left (scope-changes.ts). /sync's rule (relay/ephemeral/receipts.ts: everyone's
 * m.read, only the user's own m.read.private). One statement for all of them, none when nothing changed.
 */
import type { z } from 'zod';
import { receiptEventsFrom } from '../../ephemeral/receipts.js';
import { roomsInScope } from './scope.js';
import type { roomScopedRequestSchema } from './account-data.js';
import type { ExtensionBuilder } from './types.js';

export interface ReceiptsExtension {
  rooms: Record<string, { type: 'm.receipt'; content: Record<string, unknown> }>;
}

export const receiptsExtension: ExtensionBuilder<z.infer<typeof roomScopedRequestSchema>, ReceiptsExtension> = {
  async build({ hs, requester, since, upTo, listRooms, subscribedRooms, initialRooms, entered, snapshot }, request) {
    // Each room read, with the position its receipts are read after (undefined: all of them).
    const from = new Map<string, number | undefined>();
    for (const roomId of roomsInScope(request, listRooms, subscribedRooms).filter((r) => snapshot.joined.has(r))) {
      if (since === undefined || initialRooms?.has(roomId)) from.set(roomId, undefined);
      else if (entered?.receipts?.has(roomId)) from.set(roomId, entered.receipts.get(roomId));
      // The statement found which rooms have new receipts: most reads read none.
      else if (snapshot.withReceipts.has(roomId)) from.set(roomId, since);
    }
    return { rooms: Object.fromEntries(await receiptEventsFrom(hs, requester.userId, from, upTo)) };
  },
  isEmpty: (part) => Object.keys(part.rooms).length === 0,
};
