/**
 * The account_data extension (MSC3959): global account data changed between the client's pos and the watermark
 * (everything, with m.push_rules, on a new connection: the rule of /sync's account_data section), and room account
 * data (tags, m.fully_read, ...) of the rooms in scope (scope.ts): what changed in range; everything current for a
 * room the response sends from scratch; for a room that came back into scope, what changed after the position the
 * client had it up to when it left (scope-changes.ts). Those rooms are read in one statement.
 */
import { z } from 'zod';
import { selectRoomAccountData, type AccountDataRow } from '../../../db/account-data.js';
import { globalAccountDataEvents } from '../../sync/account-data.js';
import { roomsInScope } from './scope.js';
import type { ExtensionBuilder } from './types.js';

export const roomScopedRequestSchema = z.object({
  enabled: z.boolean().nullish(),
  lists: z.array(z.string()).nullish(),
  rooms: z.array(z.string()).nullish(),
});

type AccountDataEvent = { type: string; content: Record<string, unknown> };

export interface AccountDataExtension {
  global: AccountDataEvent[];
  rooms: Record<string, AccountDataEvent[]>;
}

export const accountDataExtension: ExtensionBuilder<z.infer<typeof roomScopedRequestSchema>, AccountDataExtension> = {
  async build({ hs, requester, since, upTo, listRooms, subscribedRooms, initialRooms, entered, snapshot }, request) {
    const userId = requester.userId;
    const scope = roomsInScope(request, listRooms, subscribedRooms);
    // Rooms read with their own since (-1: all current); on a new connection the statement's changes hold everything.
    const own: [string, number][] = [];
    if (since !== undefined) {
      for (const roomId of scope) {
        if (initialRooms?.has(roomId)) own.push([roomId, -1]);
        else if (entered?.account_data?.has(roomId)) own.push([roomId, entered.account_data.get(roomId) ?? -1]);
      }
    }
    const changes = snapshot.accountData!;
    const read = await selectRoomAccountData(hs.sql, userId, own, upTo);
    const rooms: Record<string, AccountDataEvent[]> = {};
    const add = (rows: AccountDataRow[]) => {
      for (const r of rows) (rooms[r.roomId] ??= []).push({ type: r.type, content: r.content });
    };
    const inScope = new Set(scope);
    const ownSet = new Set(own.map(([roomId]) => roomId));
    add(changes.changed.filter((r) => r.roomId !== '' && inScope.has(r.roomId) && !ownSet.has(r.roomId)));
    add(read);
    return { global: await globalAccountDataEvents(hs, userId, since, upTo, changes), rooms };
  },
  isEmpty: (part) => part.global.length === 0 && Object.keys(part.rooms).length === 0,
};
