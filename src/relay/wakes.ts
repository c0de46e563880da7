/**
 * Who wakes whom: one function per thing that happened, each naming the long-polls it wakes (a user's /sync waits
 * on its user key and on the keys of its joined and invited rooms). Writers call them after commit, or into a
 * WakeBatch that one transaction fills and sends once it has committed. The notifier only carries the keys.
 */
import { mediaKey, PUSH_KEY, roomKey, userKey } from './notifier.js';

/** Where a wake goes: the notifier itself (now), or a batch (after the transaction commits). */
export interface Waker {
  wake(keys: Iterable<string>): void;
}

/** The wakes of one transaction, sent together (one NOTIFY) once it has committed; never for a rolled-back one. */
export class WakeBatch implements Waker {
  private readonly keys = new Set<string>();

  wake(keys: Iterable<string>): void {
    for (const key of keys) this.keys.add(key);
  }

  /** After commit: wakes everything gathered, here and in the other processes. */
  send(to: Waker): void {
    if (this.keys.size > 0) to.wake(this.keys);
  }
}

/** A new event in a room: everyone whose sync waits on the room. */
export function onNewRoomEvent(to: Waker, roomId: string): void {
  to.wake([roomKey(roomId)]);
}

/** A user's membership changed: that user too, whose sync does not yet (or no longer) wait on the room. */
export function onMembershipChange(to: Waker, userId: string): void {
  to.wake([userKey(userId)]);
}

/** To-device messages were queued for these users. */
export function onNewToDevice(to: Waker, recipients: Iterable<string>): void {
  to.wake([...recipients].map(userKey));
}

/**
 * A user's devices or cross-signing keys changed: everyone who tracks them (they and whoever shares a room). A
 * logout or a device deletion is one too, so the user's own long-polls end and re-check their token.
 */
export function onDeviceListChange(to: Waker, watchers: Iterable<string>): void {
  to.wake([...watchers].map(userKey));
}

/** A user's account data changed (global or per room: also tags, push rules and the m.fully_read marker). */
export function onAccountData(to: Waker, userId: string): void {
  to.wake([userKey(userId)]);
}

/** A receipt moved: an m.read receipt is shared with the room, an m.read.private one only with its user. */
export function onReceipt(to: Waker, receipt: { roomId: string; userId: string; isPrivate: boolean }): void {
  to.wake([receipt.isPrivate ? userKey(receipt.userId) : roomKey(receipt.roomId)]);
}

/** Who is typing in a room changed (here or, through the typing channel, in another process). */
export function onTypingChange(to: Waker, roomId: string): void {
  to.wake([roomKey(roomId)]);
}

/** A user's presence changed: the user and everyone in the rooms the user is joined to or invited into. */
export function onPresenceChange(to: Waker, userId: string, roomIds: Iterable<string>): void {
  to.wake([userKey(userId), ...[...roomIds].map(roomKey)]);
}

/** The content of a media id made by POST /create arrived: downloads waiting for it (timeout_ms) read again. */
export function onMediaUploaded(to: Waker, mediaId: string): void {
  to.wake([mediaKey(mediaId)]);
}

/** Notifications were stored: the push delivery job of every process (relay/push/delivery.ts) looks for work. */
export function onNotified(to: Waker): void {
  to.wake([PUSH_KEY]);
}
