/**
 * One push to a push gateway (spec: Push Gateway API, POST /_matrix/push/v1/notify), in the event_id_only format:
 * the event and room ids, the unread count and the pusher's own data (without url). Never content, never a display
 * name; the sender and the room's name only when the operator allows it (PUSH_INCLUDE_SENDER). Nothing here logs
 * the pushkey or the URL, which may carry a secret.
 */
import type { PusherRow } from '../../db/pushers.js';
import { EVENT_ID_ONLY } from './pushers.js';

/** How long one gateway request may take. */
export const GATEWAY_TIMEOUT_MS = 10_000;

export interface PushContent {
  eventId: string;
  roomId: string;
  unread: number;
  /** Only with PUSH_INCLUDE_SENDER. */
  sender?: string;
  roomName?: string;
}

/** ok: delivered; rejected: the gateway refuses the pushkey for good; drop: it refuses this request; retry: try later. */
export type PushResult = { kind: 'ok' } | { kind: 'rejected' } | { kind: 'drop'; status: number } | { kind: 'retry'; status?: number; reason: string };

/** The request body: what the gateway, and the platform behind it (Apple, Google), get to see. */
export function notifyBody(pusher: PusherRow, c: PushContent): Record<string, unknown> {
  const { url: _url, ...data } = pusher.data;
  const notification: Record<string, unknown> = {
    event_id: c.eventId,
    room_id: c.roomId,
    counts: { unread: c.unread },
    devices: [{ app_id: pusher.appId, pushkey: pusher.pushkey, pushkey_ts: Math.floor(pusher.pushkeyTs / 1000), data: { ...data, format: EVENT_ID_ONLY } }],
  };
  if (c.sender !== undefined) notification.sender = c.sender;
  if (c.roomName !== undefined) notification.room_name = c.roomName;
  return { notification };
}

export async function pushToGateway(pusher: PusherRow, c: PushContent): Promise<PushResult> {
  let res: Response;
  try {
    res = await fetch(String(pusher.data.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(notifyBody(pusher, c)),
      redirect: 'error',
      signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS),
    });
  } catch (err) {
    return { kind: 'retry', reason: (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
  }
  if (res.status >= 200 && res.status < 300) {
    let rejected: unknown;
    try {
      rejected = ((await res.json()) as { rejected?: unknown }).rejected;
    } catch {
      rejected = undefined;
    }
    return Array.isArray(rejected) && rejected.includes(pusher.pushkey) ? { kind: 'rejected' } : { kind: 'ok' };
  }
  await res.body?.cancel().catch(() => {});
  if (res.status === 429 || res.status >= 500) return { kind: 'retry', status: res.status, reason: `HTTP ${res.status}` };
  return { kind: 'drop', status: res.status };
}
