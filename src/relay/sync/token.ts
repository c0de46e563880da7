/**
 * Stream tokens: opaque strings over one stream position, used by /sync (next_batch, since), by /messages
 * (from, to, prev_batch) and by /keys/changes. A malformed token is 400 M_INVALID_PARAM.
 */
import { invalidParam } from '../../errors.js';

export function streamToken(pos: number): string {
  return `s${pos}`;
}

/**
 * A /sync token: the stream position, the last to-device message the response carried (for one device), and the
 * typing and presence positions (both live in memory, outside the stream). Forms: `s<pos>`, `s<pos>_<ack>`, either
 * followed by `_t<typing>` and then `_p<presence>` (left out while it is 0); tokens without those parts stay valid.
 */
export interface SyncToken {
  pos: number;
  toDeviceAck?: number;
  typing?: number;
  presence?: number;
}

export function syncToken(t: SyncToken): string {
  const base = t.toDeviceAck !== undefined ? `s${t.pos}_${t.toDeviceAck}` : `s${t.pos}`;
  const typing = t.typing !== undefined ? `${base}_t${t.typing}` : base;
  return t.presence ? `${typing}_p${t.presence}` : typing;
}

const TOKEN = /^s(\d{1,15})(?:_(\d{1,15}))?(?:_t(\d{1,15}))?(?:_p(\d{1,15}))?$/;

export function parseSyncToken(token: string, name = 'since'): SyncToken {
  const m = TOKEN.exec(token);
  if (!m) throw invalidParam(`Malformed ${name}: ${JSON.stringify(token.slice(0, 40))}.`);
  const t: SyncToken = { pos: Number(m[1]) };
  if (m[2] !== undefined) t.toDeviceAck = Number(m[2]);
  if (m[3] !== undefined) t.typing = Number(m[3]);
  if (m[4] !== undefined) t.presence = Number(m[4]);
  return t;
}

/** The stream position of any token (a sync token's to-device part does not matter to /messages or /keys/changes). */
export function parseStreamToken(token: string, name = 'token'): number {
  return parseSyncToken(token, name).pos;
}
