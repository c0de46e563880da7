/**
 * PUT /typing: who may type where. Users set only their own typing state, and only in rooms they are joined to
 * (an unknown room is refused alike); the typing manager (typing.ts) then keeps and broadcasts it.
 */
import type { Hs } from '../../hs.js';
import { forbidden } from '../../errors.js';
import { membershipOf } from '../rooms/access.js';

/** Without a timeout, typing lasts this long (the spec's example value). */
const DEFAULT_TYPING_TIMEOUT_MS = 30_000;

export async function setTyping(hs: Hs, requesterId: string, userId: string, roomId: string, typing: boolean, timeoutMs?: number): Promise<void> {
  if (userId !== requesterId) throw forbidden('You can only set your own typing state.');
  if ((await membershipOf(hs.sql, requesterId, roomId)) !== 'join') throw forbidden('You are not joined to this room.');
  await hs.typing.set(roomId, requesterId, typing, timeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS);
}
