/**
 * What the room view shows, computed from the sdk's live timeline: messages with their latest edit applied,
 * deletions, reactions grouped by key, the message each one replies to, who has read up to where, and a plain
 * explanation for a message that cannot be decrypted (yet). Pure: the same events give the same items, and the
 * view re-computes it after every sdk event (an edit, a key that arrives, a receipt).
 */
import { Direction, type EventTimeline, type MatrixEvent, type Room } from 'matrix-js-sdk';

/**
 * The earliest timeline of the live chain. Back-pagination that reaches events the client already holds (in the
 * timeline a gappy sync replaced) joins the two timelines instead of copying the events: the chain is what to show.
 */
export function earliestTimeline(room: Room): EventTimeline {
  let t = room.getLiveTimeline();
  for (let prev = t.getNeighbouringTimeline(Direction.Backward); prev; prev = prev.getNeighbouringTimeline(Direction.Backward)) t = prev;
  return t;
}

/** Every event of the live timeline and the timelines joined before it, oldest first. */
export function chainEvents(room: Room): MatrixEvent[] {
  const parts: MatrixEvent[][] = [];
  for (let t: EventTimeline | null = room.getLiveTimeline(); t; t = t.getNeighbouringTimeline(Direction.Backward)) parts.unshift(t.getEvents());
  return parts.flat();
}
import { attachmentOf, type AttachmentView } from '../media/attachments';

export interface ReactionView {
  key: string;
  count: number;
  /** Display names of who reacted. */
  senders: string[];
  /** The id of my own reaction with this key (to take it back), if I reacted. */
  mine?: string;
}

export interface MessageView {
  kind: 'message';
  id: string;
  sender: string;
  senderName: string;
  ts: number;
  isMine: boolean;
  /** The text to show (the latest edit's, if edited). Empty when deleted or undecryptable. */
  body: string;
  edited: boolean;
  deleted: boolean;
  /** Why the text cannot be shown, in words for people, when it cannot be decrypted (yet). */
  undecryptable?: string;
  /** An encrypted image, file or voice message (media/attachments.ts). */
  attachment?: AttachmentView;
  /** Still on its way to the server (a local echo), or failed to send. */
  pending: boolean;
  failed: boolean;
  replyTo?: { id: string; senderName: string; body: string };
  reactions: ReactionView[];
  /** Display names of the others who have read up to this message (and not further). */
  readBy: string[];
}

export interface NoticeView {
  kind: 'notice';
  id: string;
  ts: number;
  text: string;
}

export type TimelineItem = MessageView | NoticeView;

type Content = Record<string, unknown>;

const relation = (ev: MatrixEvent) => (ev.getContent()['m.relates_to'] ?? ev.getWireContent()['m.relates_to']) as Content | undefined;

function isEdit(ev: MatrixEvent): boolean {
  return relation(ev)?.rel_type === 'm.replace';
}

/** The reply fallback ("> <@a:b> quoted\n\n") older clients put in front of a reply's body. */
function stripReplyFallback(body: string): string {
  if (!body.startsWith('> ')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i].startsWith('> ')) i++;
  return lines.slice(lines[i] === '' ? i + 1 : i).join('\n');
}

/** Words for the sdk's decryption failure codes. */
export function explainDecryptionFailure(ev: MatrixEvent): string {
  const reason = String(ev.decryptionFailureReason ?? '');
  if (reason.includes('HISTORICAL') || reason.includes('SENT_BEFORE_WE_JOINED')) {
    return 'This message was sent before you joined or before this device existed. If you used SecureComm in another browser, open Settings & security and enter your recovery key, or verify this device from your other one, to read your history.';
  }
  if (reason.includes('WITHHELD') || reason.includes('UNSIGNED_SENDER_DEVICE') || reason.includes('UNVERIFIED')) {
    return "The sender's device chose not to share this message's key with this device.";
  }
  return "Waiting for this message's key: it will appear here by itself when the key arrives (the sender may need to be online). If this is your history from another browser, open Settings & security and enter your recovery key, or verify this device from your other one.";
}

function memberName(room: Room, userId: string): string {
  return room.getMember(userId)?.name ?? userId;
}

export function buildTimeline(room: Room, myUserId: string): TimelineItem[] {
  const events = chainEvents(room);
  const edits = new Map<string, MatrixEvent>();
  const reactions = new Map<string, Map<string, MatrixEvent[]>>();
  for (const ev of events) {
    if (ev.isRedacted()) continue;
    const rel = relation(ev);
    const target = typeof rel?.event_id === 'string' ? rel.event_id : undefined;
    if (!target) continue;
    if (ev.getType() === 'm.room.message' && isEdit(ev)) {
      const original = room.findEventById(target);
      // Only the original sender's edits count.
      if (original && original.getSender() === ev.getSender()) edits.set(target, ev);
    } else if (ev.getType() === 'm.reaction' && rel?.rel_type === 'm.annotation' && typeof rel.key === 'string') {
      const byKey = reactions.get(target) ?? new Map<string, MatrixEvent[]>();
      byKey.set(rel.key, [...(byKey.get(rel.key) ?? []), ev]);
      reactions.set(target, byKey);
    }
  }

  const items: TimelineItem[] = [];
  const bodies = new Map<string, { senderName: string; body: string }>();
  let lastMessage: MessageView | undefined;
  for (const ev of events) {
    const type = ev.getType();
    const id = ev.getId() ?? '';
    // Receipts on any event (a reaction, a state change) count for the last message at or before it.
    const readers = room.getUsersReadUpTo(ev).filter((u) => u !== myUserId && u !== ev.getSender());
    if (type === 'm.room.member') {
      const content = ev.getContent();
      const prev = ev.getPrevContent();
      const who = (content.displayname as string | undefined) ?? ev.getStateKey() ?? '';
      let text: string | undefined;
      if (content.membership === 'join' && prev.membership !== 'join') text = `${who} joined`;
      else if (content.membership === 'leave' && prev.membership === 'join') text = `${prev.displayname ?? who} left`;
      else if (content.membership === 'join' && prev.membership === 'join' && prev.displayname !== content.displayname && prev.displayname) {
        text = `${prev.displayname} is now ${content.displayname}`;
      }
      if (text) items.push({ kind: 'notice', id, ts: ev.getTs(), text });
    } else if ((type === 'm.room.message' || type === 'm.room.encrypted') && !isEdit(ev) && !(ev.getContent().msgtype === 'm.key.verification.request')) {
      const sender = ev.getSender() ?? '';
      const edit = edits.get(id);
      const content = (edit ? (edit.getContent()['m.new_content'] as Content | undefined) : undefined) ?? ev.getContent();
      const deleted = ev.isRedacted();
      const failure = !deleted && (ev.isDecryptionFailure() || type === 'm.room.encrypted');
      const replyId = ((ev.getContent()['m.relates_to'] as Content | undefined)?.['m.in_reply_to'] as Content | undefined)?.event_id;
      const body = deleted || failure ? '' : stripReplyFallback(String(content.body ?? ''));
      const view: MessageView = {
        kind: 'message',
        id,
        sender,
        senderName: memberName(room, sender),
        ts: ev.getTs(),
        isMine: sender === myUserId,
        body,
        edited: edit !== undefined && !deleted,
        deleted,
        undecryptable: failure ? (ev.isBeingDecrypted() ? 'Decrypting…' : explainDecryptionFailure(ev)) : undefined,
        attachment: deleted || failure ? undefined : attachmentOf(content),
        pending: ev.status !== null && ev.status !== 'sent',
        failed: ev.status === 'not_sent',
        reactions: [],
        readBy: [],
      };
      if (typeof replyId === 'string') {
        const quoted = bodies.get(replyId);
        view.replyTo = { id: replyId, senderName: quoted?.senderName ?? '', body: quoted?.body ?? 'an earlier message' };
      }
      for (const [key, evs] of reactions.get(id) ?? []) {
        const live = evs.filter((r) => !r.isRedacted());
        if (live.length === 0) continue;
        const mine = live.find((r) => r.getSender() === myUserId);
        view.reactions.push({ key, count: live.length, senders: live.map((r) => memberName(room, r.getSender() ?? '')), mine: mine?.getId() ?? undefined });
      }
      bodies.set(id, { senderName: view.senderName, body: deleted ? 'a deleted message' : failure ? 'an encrypted message' : body });
      items.push(view);
      lastMessage = view;
    }
    if (lastMessage) for (const u of readers) if (!lastMessage.readBy.includes(memberName(room, u))) lastMessage.readBy.push(memberName(room, u));
  }
  return items;
}

/** Messages from others after my read receipt, for the room list. */
export function unreadCount(room: Room, myUserId: string): number {
  const events = room.getLiveTimeline().getEvents();
  const readUpTo = room.getEventReadUpTo(myUserId);
  let n = 0;
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i];
    if (ev.getId() === readUpTo) break;
    const type = ev.getType();
    if ((type === 'm.room.message' || type === 'm.room.encrypted') && ev.getSender() !== myUserId && !isEdit(ev) && !ev.isRedacted()) n++;
  }
  return n;
}
