/** Room ids from request paths: the grammar check shared by the directory and room account data endpoints. */
import { invalidParam } from '../../errors.js';

/** `!opaque:server`, at most 255 bytes (spec appendix "Room IDs"); anything else is 400 M_INVALID_PARAM. */
export function checkRoomId(roomId: string): void {
  const colon = roomId.indexOf(':');
  if (!roomId.startsWith('!') || colon < 2 || colon === roomId.length - 1 || Buffer.byteLength(roomId) > 255 || /[\s\u0000]/.test(roomId)) {
    throw invalidParam(`${JSON.stringify(roomId)} is not a valid room ID.`);
  }
}
