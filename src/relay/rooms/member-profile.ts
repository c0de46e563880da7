/**
 * A profile change reaches the rooms: each joined room gets a new join event carrying the user's current display
 * name and avatar (spec: profile changes update m.room.member events), so that other members see it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Hs } from '../../hs.js';
import { selectRoomsWithMembership } from '../../db/rooms.js';
import { appendEvent, currentStateOf, writeRoom } from './append.js';
import { memberContent } from './create-room.js';

export async function refreshMemberEvents(hs: Hs, userId: string): Promise<void> {
  for (const roomId of await selectRoomsWithMembership(hs.sql, userId, 'join')) {
    await writeRoom(hs, roomId, async (room) => {
      const current = currentStateOf(room, 'm.room.member', userId);
      if (current?.content.membership !== 'join') return;
      const { displayname: _d, avatar_url: _a, ...kept } = current.content;
      // Read in the transaction: it holds the pool's connection (with a pool of one, the only one).
      const content = await memberContent(room.tx, userId, 'join', kept);
      if (!isDeepStrictEqual(content, current.content)) await appendEvent(hs, room, userId, { type: 'm.room.member', state_key: userId, content });
    });
  }
}
