/**
 * Typing notifications: who is typing in which room, kept in memory in every process (never on disk) and
 * broadcast to the other processes on the bus (PostgreSQL NOTIFY or NATS); every change gets a typing position that /sync tokens carry.
 */
import type { Bus } from '../bus/bus.js';
import type { Notifier } from '../notifier.js';
import { onTypingChange } from '../wakes.js';
import { openBroadcast } from './broadcast.js';

const CHANNEL = 'securecomm_typing';
/** The longest a client may claim to be typing without renewing it. */
const MAX_TYPING_TIMEOUT_MS = 120_000;
/** A change heard from another process expires here only this long after its deadline: the origin sends the stop. */
const REMOTE_GRACE_MS = 10_000;

interface Typist {
  expiresAt: number;
  timer: NodeJS.Timeout;
}

interface RoomTyping {
  users: Map<string, Typist>;
  /** The typing position of the room's last change. */
  pos: number;
}

/** One change, as broadcast: room, user, typing, deadline (ms since epoch), position. */
interface Message {
  r: string;
  u: string;
  t: boolean;
  e: number;
  p: number;
}

export interface TypingManager {
  /** Starts (for timeoutMs) or stops `userId` typing in `roomId`, here and in every other process. */
  set(roomId: string, userId: string, typing: boolean, timeoutMs: number): Promise<void>;
  /** The highest typing position this process has handed out: read it before reading rooms. */
  position(): number;
  /** The users typing in a room and the position of its last change (undefined: never changed here). */
  room(roomId: string): { userIds: string[]; pos: number } | undefined;
  close(): Promise<void>;
}

/**
 * Positions are hybrid clocks: max(now, last + 1), and a change from another process keeps its position unless this
 * process has already passed it; so positions stay comparable across processes (up to clock skew) and always rise here.
 *
 * A change travels on its own channel and, once published, the room is woken through the notifier. The bus keeps one
 * process's messages in publish order across channels (relay/bus/bus.ts): a process applies the change before the
 * wake reaches it, so the woken long-poll reads the new state.
 */
export async function createTypingManager(notifier: Notifier, bus?: Bus): Promise<TypingManager> {
  const rooms = new Map<string, RoomTyping>();
  let last = 0;

  const stamp = (atLeast: number) => (last = Math.max(atLeast, last + 1));

  /** Applies a change here; the room's new position when its typing users changed, else undefined. */
  const apply = (roomId: string, userId: string, typing: boolean, expiresAt: number, pos: number, onExpire: () => void): number | undefined => {
    let room = rooms.get(roomId);
    const before = room?.users.get(userId);
    if (before) clearTimeout(before.timer);
    if (!typing && !before) return undefined;
    if (!room) rooms.set(roomId, (room = { users: new Map(), pos: 0 }));
    if (typing) {
      const timer = setTimeout(onExpire, Math.max(0, expiresAt - Date.now()));
      timer.unref();
      room.users.set(userId, { expiresAt, timer });
      // A renewal only moves the deadline: clients see nothing new.
      if (before) return undefined;
    } else {
      room.users.delete(userId);
    }
    return (room.pos = stamp(pos));
  };

  const set = async (roomId: string, userId: string, typing: boolean, timeoutMs: number): Promise<void> => {
    const expiresAt = Date.now() + Math.min(Math.max(0, timeoutMs), MAX_TYPING_TIMEOUT_MS);
    const expire = () => void set(roomId, userId, false, 0);
    const pos = apply(roomId, userId, typing, expiresAt, Date.now(), expire);
    // Renewals are broadcast as well: other processes move their fallback deadline.
    if (pos === undefined && !typing) return;
    await broadcast.publish({ r: roomId, u: userId, t: typing, e: expiresAt, p: pos ?? last });
    if (pos !== undefined) onTypingChange(notifier, roomId);
  };

  const broadcast = await openBroadcast<Message>(bus, CHANNEL, (msg) => {
    const { r: roomId, u: userId } = msg;
    if (typeof roomId !== 'string' || typeof userId !== 'string') return;
    // Should the origin die before it sends the stop, the user stops typing here a little after the deadline.
    const fallback = () => {
      if (apply(roomId, userId, false, 0, Date.now(), () => {}) !== undefined) onTypingChange(notifier, roomId);
    };
    const deadline = msg.t ? Number(msg.e) + REMOTE_GRACE_MS : 0;
    apply(roomId, userId, msg.t === true, deadline, Number(msg.p) || 0, fallback);
  });

  return {
    set,
    position: () => last,
    room(roomId) {
      const room = rooms.get(roomId);
      return room ? { userIds: [...room.users.keys()].sort(), pos: room.pos } : undefined;
    },
    async close() {
      for (const room of rooms.values()) for (const t of room.users.values()) clearTimeout(t.timer);
      rooms.clear();
      await broadcast.close();
    },
  };
}

/** A room's m.typing event as a sync delivers it. */
export interface TypingEvent {
  type: 'm.typing';
  content: { user_ids: string[] };
}

/**
 * The m.typing event a sync delivers for a room: when the room's typing changed between the client's typing position
 * and the response's (`range`; a later change waits for the next sync, which its wake starts), or, for a room new to
 * the client (`fresh`, or `range.since` undefined), when someone is typing. Shared by /sync and the sliding-sync
 * typing extension.
 */
export function typingEventFor(typing: TypingManager, roomId: string, range: { since: number | undefined; upTo: number }, fresh: boolean): TypingEvent | undefined {
  const room = typing.room(roomId);
  if (!room) return undefined;
  const changed = fresh || range.since === undefined ? room.userIds.length > 0 : room.pos > range.since && room.pos <= range.upTo;
  return changed ? { type: 'm.typing', content: { user_ids: room.userIds } } : undefined;
}
