/**
 * Presence (online, unavailable, offline, a status message, when last active): kept in memory in every process, never
 * on disk, and broadcast to the other processes on the bus, the way typing is (typing.ts). Every visible
 * change gets a presence position, which /sync tokens carry. With PRESENCE=off nothing is kept: everyone is offline.
 */
import type { Bus } from '../bus/bus.js';
import { openBroadcast } from './broadcast.js';

const CHANNEL = 'securecomm_presence';

export type Presence = 'online' | 'unavailable' | 'offline';

/** A user who stops syncing (and setting presence) goes offline this long after the end of their last long-poll. */
export const OFFLINE_AFTER_MS = 120_000;
/** A user seen active this recently is `currently_active` while online. */
export const CURRENTLY_ACTIVE_MS = 60_000;
/** Refreshes that change nothing visible are broadcast at most this often (other processes keep the user's deadline). */
const REFRESH_BROADCAST_MS = 30_000;
/** A deadline heard from another process is kept a little longer here: the process the user syncs on goes first. */
const REMOTE_GRACE_MS = 10_000;
/** Status messages are short (a NOTIFY payload holds 8000 bytes). */
export const MAX_STATUS_MSG_LENGTH = 1000;

export interface PresenceView {
  presence: Presence;
  statusMsg: string | undefined;
  /** When the user was last active (ms since epoch); undefined: not since this process started. */
  lastActiveTs: number | undefined;
  /** The presence position of the user's last visible change. */
  pos: number;
}

interface Entry extends PresenceView {
  /** When the user goes offline unless refreshed (0: no deadline, already offline or set so explicitly). */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  /** When this process last broadcast a refresh of the user. */
  broadcastAt: number;
}

/** One change, as broadcast: user, presence, status message, last active, deadline, position. */
interface Message {
  u: string;
  s: Presence;
  m: string | null;
  a: number | null;
  d: number;
  p: number;
}

export interface PresenceManager {
  readonly enabled: boolean;
  /** An explicit change (PUT /presence): the state and message as given; online and unavailable time out. */
  set(userId: string, presence: Presence, statusMsg: string | undefined): Promise<void>;
  /**
   * A /sync with set_presence online or unavailable, long-polling for up to `pollMs`: an offline user comes online
   * (or becomes unavailable), `online` marks the user active, and the user stays so until OFFLINE_AFTER_MS after the poll.
   */
  syncing(userId: string, presence: 'online' | 'unavailable', pollMs: number): Promise<void>;
  /** The highest presence position this process has handed out: read it before reading what /sync delivers. */
  position(): number;
  /** A user's presence as known here (undefined: never seen, i.e. offline). */
  get(userId: string): PresenceView | undefined;
  /** Users whose presence changed after `since` and up to `upTo` (every known user when since is undefined). */
  changedIn(since: number | undefined, upTo: number): string[];
  close(): Promise<void>;
}

/**
 * `onChange(userId)` runs after every visible change made here (an explicit one, a sync, or a user timing out); it
 * wakes whoever shares a room with the user, in every process. `bus` carries the broadcast (absent: one process, the embedded database).
 */
export async function createPresenceManager(
  enabled: boolean,
  onChange: (userId: string) => void,
  bus?: Bus,
  /** Tests shorten the offline timeout. */
  offlineAfterMs = OFFLINE_AFTER_MS,
): Promise<PresenceManager> {
  const users = new Map<string, Entry>();
  let last = 0;
  const stamp = (atLeast: number) => (last = Math.max(atLeast, last + 1));

  const publish = async (userId: string, e: Entry) => {
    e.broadcastAt = Date.now();
    await broadcast.publish({ u: userId, s: e.presence, m: e.statusMsg ?? null, a: e.lastActiveTs ?? null, d: e.deadline, p: e.pos });
  };

  const arm = (userId: string, e: Entry) => {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    if (e.deadline === 0) return;
    e.timer = setTimeout(() => void expire(userId), Math.max(0, e.deadline - Date.now()));
    e.timer.unref();
  };

  const expire = async (userId: string) => {
    const e = users.get(userId);
    if (!e || e.deadline === 0 || Date.now() < e.deadline) return;
    e.presence = 'offline';
    e.deadline = 0;
    e.pos = stamp(Date.now());
    await publish(userId, e);
    onChange(userId);
  };

  /** Applies a new state here; true when others can see the difference. */
  const apply = (userId: string, next: { presence: Presence; statusMsg: string | undefined; lastActiveTs: number | undefined; deadline: number }, pos: number) => {
    let e = users.get(userId);
    if (!e) users.set(userId, (e = { presence: 'offline', statusMsg: undefined, lastActiveTs: undefined, pos: 0, deadline: 0, timer: undefined, broadcastAt: 0 }));
    const visible = e.presence !== next.presence || e.statusMsg !== next.statusMsg;
    e.presence = next.presence;
    e.statusMsg = next.statusMsg;
    if (next.lastActiveTs !== undefined) e.lastActiveTs = Math.max(e.lastActiveTs ?? 0, next.lastActiveTs);
    e.deadline = next.deadline;
    if (visible) e.pos = stamp(pos);
    arm(userId, e);
    return { entry: e, visible };
  };

  const change = async (userId: string, next: { presence: Presence; statusMsg: string | undefined; lastActiveTs: number | undefined; deadline: number }) => {
    const { entry, visible } = apply(userId, next, Date.now());
    if (visible || Date.now() - entry.broadcastAt >= REFRESH_BROADCAST_MS) await publish(userId, entry);
    if (visible) onChange(userId);
  };

  const broadcast = await openBroadcast<Message>(enabled ? bus : undefined, CHANNEL, (msg) => {
    if (typeof msg.u !== 'string' || (msg.s !== 'online' && msg.s !== 'unavailable' && msg.s !== 'offline')) return;
    const deadline = Number(msg.d) || 0;
    // No wake here: the origin wakes the user's rooms after this message, and the wake arrives after it.
    apply(
      msg.u,
      {
        presence: msg.s,
        statusMsg: typeof msg.m === 'string' ? msg.m.slice(0, MAX_STATUS_MSG_LENGTH) : undefined,
        lastActiveTs: typeof msg.a === 'number' ? msg.a : undefined,
        deadline: deadline > 0 ? deadline + REMOTE_GRACE_MS : 0,
      },
      Number(msg.p) || 0,
    );
  });

  return {
    enabled,
    async set(userId, presence, statusMsg) {
      if (!enabled) return;
      const now = Date.now();
      const before = users.get(userId);
      await change(userId, {
        presence,
        statusMsg,
        lastActiveTs: presence === 'online' ? now : before?.lastActiveTs,
        deadline: presence === 'offline' ? 0 : Math.max(before?.deadline ?? 0, now + offlineAfterMs),
      });
    },
    async syncing(userId, presence, pollMs) {
      if (!enabled) return;
      const now = Date.now();
      const before = users.get(userId);
      const current = before?.presence ?? 'offline';
      // A sync never overrides an explicit "unavailable" with "online"; it only brings an offline user back.
      const next = current === 'offline' || (presence === 'unavailable' && current === 'online') ? presence : current;
      await change(userId, {
        presence: next,
        statusMsg: before?.statusMsg,
        lastActiveTs: presence === 'online' ? now : before?.lastActiveTs,
        deadline: Math.max(before?.deadline ?? 0, now + pollMs + offlineAfterMs),
      });
    },
    position: () => last,
    get(userId) {
      const e = users.get(userId);
      return e && { presence: e.presence, statusMsg: e.statusMsg, lastActiveTs: e.lastActiveTs, pos: e.pos };
    },
    changedIn(since, upTo) {
      const out: string[] = [];
      for (const [userId, e] of users) if (e.pos > (since ?? 0) && e.pos <= upTo) out.push(userId);
      return out.sort();
    },
    async close() {
      for (const e of users.values()) if (e.timer) clearTimeout(e.timer);
      users.clear();
      await broadcast.close();
    },
  };
}
