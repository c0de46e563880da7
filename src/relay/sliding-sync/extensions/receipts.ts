/**
 * The receipts extension (MSC3960): the m.receipt event of each joined room in scope (scope.ts) whose receipts
 * changed between the client's pos and the watermark, or all of a room's receipts when the room is new to the
 * connection: /sync's rule (relay/ephemeral/receipts.ts: everyone's m.read, only the user's own m.read.private).
 */
import type { z } from 'zod';
import { receiptEvents } from '../../ephemeral/receipts.js';
import { roomsInScope } from './scope.js';
import type { roomScopedRequestSchema } from './account-data.js';
import type { ExtensionBuilder } from './types.js';

export interface ReceiptsExtension {
  rooms: Record<string, { type: 'm.receipt'; content: Record<string, unknown> }>;
}

export const receiptsExtension: ExtensionBuilder<z.infer<typeof roomScopedRequestSchema>, ReceiptsExtension> = {
  async build({ hs, requester, since, upTo, listRooms, subscribedRooms, initialRooms, snapshot }, request) {
    const rooms = roomsInScope(request, listRooms, subscribedRooms).filter((r) => snapshot.joined.has(r));
    const fresh = rooms.filter((r) => since === undefined || initialRooms?.has(r));
    // The statement found which rooms have new receipts: most reads read none.
    const steady = rooms.filter((r) => since !== undefined && !initialRooms?.has(r) && snapshot.withReceipts.has(r));
    const [old, all] = await Promise.all([receiptEvents(hs, requester.userId, steady, since, upTo), receiptEvents(hs, requester.userId, fresh, undefined, upTo)]);
    return { rooms: Object.fromEntries([...old, ...all]) };
  },
  isEmpty: (part) => Object.keys(part.rooms).length === 0,
};
