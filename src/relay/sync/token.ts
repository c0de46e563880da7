/**
 * Stream tokens: opaque strings over one stream position, used by /sync (next_batch, since), by /messages
 * (from, to, prev_batch) and by /keys/changes. A malformed token is 400 M_INVALID_PARAM.
 */
import { invalidParam } from '../../errors.js';

export function streamToken(pos: number): string {
  return `s${pos}`;
}

export function parseStreamToken(token: string, name = 'token'): number {
  const m = /^s(\d{1,15})$/.exec(token);
  if (!m) throw invalidParam(`Malformed ${name}: ${JSON.stringify(token.slice(0, 40))}.`);
  return Number(m[1]);
}
