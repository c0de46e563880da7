/**
 * Stream tokens: opaque strings over one stream position, used by /sync (next_batch, since), by /messages
 * (from, to, prev_batch) and by /keys/changes. A malformed token is 400 M_INVALID_PARAM.
 */
import { invalidParam } from '../../errors.js';

export function streamToken(pos: number): string {
  return `s${pos}`;
}

/** A /sync token: the stream position, and the last to-device message the response carried (for one device). */
export interface SyncToken {
  pos: number;
  toDeviceAck?: number;
}

export function syncToken(t: SyncToken): string {
  return t.toDeviceAck !== undefined ? `s${t.pos}_${t.toDeviceAck}` : `s${t.pos}`;
}

const TOKEN = /^s(\d{1,15})(?:_(\d{1,15}))?$/;

export function parseSyncToken(token: string, name = 'since'): SyncToken {
  const m = TOKEN.exec(token);
  if (!m) throw invalidParam(`Malformed ${name}: ${JSON.stringify(token.slice(0, 40))}.`);
  return m[2] !== undefined ? { pos: Number(m[1]), toDeviceAck: Number(m[2]) } : { pos: Number(m[1]) };
}

/** The stream position of any token (a sync token's to-device part does not matter to /messages or /keys/changes). */
export function parseStreamToken(token: string, name = 'token'): number {
  return parseSyncToken(token, name).pos;
}
