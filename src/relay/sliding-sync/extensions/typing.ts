/**
 * The typing extension (MSC3961): the m.typing event of each joined room in scope (scope.ts) whose typing users
 * changed between the client's typing position and the response's, or, for a room new to the connection or back in
 * the extension's scope (scope-changes.ts), when someone is typing there: /sync's rule (relay/ephemeral/typing.ts). Typing lives in memory: no query of its own.
 */
import type { z } from 'zod';
import { typingEventFor, type TypingEvent } from '../../ephemeral/typing.js';
import { roomsInScope } from './scope.js';
import type { roomScopedRequestSchema } from './account-data.js';
import type { ExtensionBuilder } from './types.js';

export interface TypingExtension {
  rooms: Record<string, TypingEvent>;
}

export const typingExtension: ExtensionBuilder<z.infer<typeof roomScopedRequestSchema>, TypingExtension> = {
  async build({ hs, typing, initialRooms, entered, listRooms, subscribedRooms, snapshot }, request) {
    const rooms: Record<string, TypingEvent> = {};
    for (const roomId of roomsInScope(request, listRooms, subscribedRooms).filter((r) => snapshot.joined.has(r))) {
      // A room new to the connection, or back in scope (scope-changes.ts): who is typing now.
      const event = typingEventFor(hs.typing, roomId, typing, (initialRooms?.has(roomId) ?? false) || (entered?.typing?.has(roomId) ?? false));
      if (event) rooms[roomId] = event;
    }
    return { rooms };
  },
  isEmpty: (part) => Object.keys(part.rooms).length === 0,
};
