/**
 * The sliding sync `pos`: `<connection>.<generation>.<stream>.<typing>`, opaque to clients. The connection and
 * generation name the connection state the client holds (db/sliding-sync.ts), the stream position where its data
 * ends, the typing position (typing lives in memory, outside the stream). A pos that does not parse, or names a
 * connection state that is gone, is 400 M_UNKNOWN_POS: the client starts a new connection.
 */
import { unknownPos } from '../../errors.js';
import type { Pos } from './types.js';


export function formatPos(p: Pos): string {
  return `${p.connection}.${p.gen}.${p.stream}.${p.typing}`;
}

const POS = /^(\d{1,15})\.(\d{1,15})\.(\d{1,15})\.(\d{1,15})$/;

export function parsePos(s: string): Pos {
  const m = POS.exec(s);
  if (!m) throw unknownPos('malformed');
  return { connection: Number(m[1]), gen: Number(m[2]), stream: Number(m[3]), typing: Number(m[4]) };
}
