/**
 * What a person does to messages, as Matrix events: send (optionally as a reply), edit (m.replace with
 * m.new_content), react (m.reaction, an m.annotation: clients never encrypt reactions), delete (a redaction), read
 * (a read receipt) and typing notices. The sdk encrypts what must be encrypted.
 */
import { Direction, Method, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { earliestTimeline } from './timeline-model';

/*
 * The sdk skips typing notices and receipts for guests ("guests cannot send" them), but the spec lets guests send
 * both and this server accepts them: for a guest they go straight to the API.
 */
function sendTypingNotice(client: MatrixClient, roomId: string, typing: boolean, timeout: number) {
  if (!client.isGuest()) return client.sendTyping(roomId, typing, timeout);
  const path = `/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(client.getSafeUserId())}`;
  return client.http.authedRequest(Method.Put, path, undefined, typing ? { typing, timeout } : { typing });
}

function sendReceipt(client: MatrixClient, event: MatrixEvent) {
  if (!client.isGuest()) return client.sendReadReceipt(event);
  const path = `/rooms/${encodeURIComponent(event.getRoomId() ?? '')}/receipt/m.read/${encodeURIComponent(event.getId() ?? '')}`;
  return client.http.authedRequest(Method.Post, path, undefined, {});
}

export function sendText(client: MatrixClient, roomId: string, text: string, replyTo?: string) {
  const content: Record<string, unknown> = { msgtype: 'm.text', body: text };
  if (replyTo) content['m.relates_to'] = { 'm.in_reply_to': { event_id: replyTo } };
  return client.sendMessage(roomId, content as never);
}

export function editText(client: MatrixClient, roomId: string, eventId: string, text: string) {
  return client.sendMessage(roomId, {
    msgtype: 'm.text',
    body: `* ${text}`,
    'm.new_content': { msgtype: 'm.text', body: text },
    'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
  } as never);
}

export function react(client: MatrixClient, roomId: string, eventId: string, key: string) {
  return client.sendEvent(roomId, 'm.reaction' as never, { 'm.relates_to': { rel_type: 'm.annotation', event_id: eventId, key } } as never);
}

export function deleteEvent(client: MatrixClient, roomId: string, eventId: string) {
  return client.redactEvent(roomId, eventId);
}

/** Marks the room read up to its last event that reached the server (local echoes have no id yet). */
const lastSent = new Map<string, string>();
export function markRead(client: MatrixClient, roomId: string): void {
  const room = client.getRoom(roomId);
  if (!room) return;
  const events = room.getLiveTimeline().getEvents();
  let last: MatrixEvent | undefined;
  for (let i = events.length - 1; i >= 0; i--) {
    const id = events[i].getId();
    if (events[i].status === null && id && id.startsWith('$')) {
      last = events[i];
      break;
    }
  }
  const id = last?.getId();
  if (!last || !id || lastSent.get(roomId) === id) return;
  if (room.getEventReadUpTo(client.getSafeUserId()) === id) return;
  lastSent.set(roomId, id);
  sendReceipt(client, last).catch(() => lastSent.delete(roomId));
}

/** Typing notices: on while the person types (renewed every few seconds), off when they stop, send or leave. */
export function typingNotifier(client: MatrixClient, roomId: string) {
  let on = false;
  let lastSentAt = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (idle) clearTimeout(idle);
    idle = undefined;
    if (!on) return;
    on = false;
    sendTypingNotice(client, roomId, false, 0).catch(() => {});
  };
  return {
    typed(hasText: boolean) {
      if (!hasText) return stop();
      const now = Date.now();
      if (!on || now - lastSentAt > 20_000) {
        on = true;
        lastSentAt = now;
        sendTypingNotice(client, roomId, true, 30_000).catch(() => {});
      }
      if (idle) clearTimeout(idle);
      idle = setTimeout(stop, 5_000);
    },
    stop,
  };
}

/** Whether the server has older events of the room than the shown timelines hold. */
export function canLoadOlder(room: Room): boolean {
  return earliestTimeline(room).getPaginationToken(Direction.Backward) !== null;
}

/** Loads older events (back-pagination from the earliest shown timeline's own token); the sdk decrypts them. */
export async function loadOlder(client: MatrixClient, room: Room, limit = 30): Promise<void> {
  if (canLoadOlder(room)) await client.paginateEventTimeline(earliestTimeline(room), { backwards: true, limit });
}
