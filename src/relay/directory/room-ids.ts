/** Room ids from request paths: the grammar check shared by the directory and room account data endpoints. */
import { invalidParam } from '../../errors.js';
import { isRoomId } from '../../lib/identifiers.js';

/** A room id (lib/identifiers.ts); anything else is 400 M_INVALID_PARAM. */
export function checkRoomId(roomId: string): void {
  if (!isRoomId(roomId)) throw invalidParam(`${JSON.stringify(roomId)} is not a valid room ID.`);
}
