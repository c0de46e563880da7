/**
 * The notifier wakes waiting long-polls by key (a user or a room), never carrying data: woken readers re-read
 * from the database. Wakes cross processes on the bus (relay/bus/: PostgreSQL LISTEN/NOTIFY or NATS); a listener
 * registered before its reader reads cannot miss a wake, and when the bus comes back after it was lost every listener
 * is woken. The notifier owns the bus it is given: closing the notifier closes it.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from './bus/bus.js';

export const userKey = (userId: string) => `u:${userId}`;
export const roomKey = (roomId: string) => `r:${roomId}`;
export const mediaKey = (mediaId: string) => `m:${mediaId}`;
/** The push delivery job's key (relay/push/delivery.ts): notifications were stored somewhere. */
export const PUSH_KEY = 'push';

const CHANNEL = 'securecomm_wake';

export interface Listener {
  /** Resolves true when woken (also by a wake that came before wait was called), false on timeout or close. */
  wait(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export interface Notifier {
  listen(keys: Iterable<string>): Listener;
  /** Wakes the listeners of these keys here and in every other process on the bus. */
  wake(keys: Iterable<string>): void;
  /** Calls `observer` with the keys each wake from another process names (e.g. to drop what it made stale here). */
  onRemoteWake(observer: (keys: string[]) => void): void;
  /**
   * Calls `callback` on every wake of `key`, here or from another process, and when the bus comes back: for a
   * background job, which is neither a listener nor counted as a waiting long-poll. Returns the unsubscribe.
   */
  subscribe(key: string, callback: () => void): () => void;
  close(): Promise<void>;
  /** Listeners now registered (for tests and metrics). */
  size(): number;
  /** Listeners now waiting: long-polls that found nothing new (for tests and metrics). */
  waiting(): number;
  /** Totals since start, for metrics. */
  stats(): NotifierStats;
  /**
   * Whether the cross-process channel works now: the bus client is connected and a probe published on it comes back
   * to this process within `timeoutMs` (readiness, relay/readiness.ts). Always true in-process (the embedded database).
   */
  probe(timeoutMs: number): Promise<boolean>;
}

export interface NotifierStats {
  /** Keys woken by writes in this process, and by wakes received from other processes. */
  localKeys: number;
  remoteKeys: number;
  /** Listeners woken (a long-poll that reads again). */
  listenersWoken: number;
  /** Times the cross-process channel came back after being lost (every listener was woken then). */
  reconnects: number;
}

class LocalListener implements Listener {
  private woken = false;
  /** Closed listeners are detached: no wake reaches them any more, so they never wait. */
  private closed = false;
  private resolve: ((v: boolean) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keys: string[],
    private readonly detach: (l: LocalListener) => void,
    private readonly onWait: (delta: number) => void,
  ) {}

  fire(): void {
    this.woken = true;
    this.finish(true);
  }

  wait(timeoutMs: number): Promise<boolean> {
    if (this.woken) return Promise.resolve(true);
    // A /sync may still wait on a listener closed under it: one kept for the device's next poll (poll-memory.ts)
    // when the notifier closed at shutdown. Waiting would hold that request, and the shutdown, for its whole timeout.
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.resolve = resolve;
      this.onWait(1);
      this.timer = setTimeout(() => this.finish(false), Math.max(0, timeoutMs));
    });
  }

  close(): void {
    this.closed = true;
    this.finish(false);
    this.detach(this);
  }

  keyList(): string[] {
    return this.keys;
  }

  private finish(value: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const resolve = this.resolve;
    this.resolve = undefined;
    if (resolve) {
      this.onWait(-1);
      resolve(value);
    }
  }
}

/** An in-process notifier; with a bus, wakes are also published to and received from other processes. */
export async function createNotifier(bus?: Bus): Promise<Notifier> {
  const byKey = new Map<string, Set<LocalListener>>();
  const subscribers = new Map<string, Set<() => void>>();
  const remoteObservers: ((keys: string[]) => void)[] = [];
  const origin = randomUUID();
  let waiting = 0;
  const stats: NotifierStats = { localKeys: 0, remoteKeys: 0, listenersWoken: 0, reconnects: 0 };
  const onWait = (delta: number) => {
    waiting += delta;
  };

  const wakeLocal = (keys: Iterable<string>) => {
    for (const key of keys) {
      const set = byKey.get(key);
      const subs = subscribers.get(key);
      if (subs) for (const callback of [...subs]) callback();
      if (!set) continue;
      stats.listenersWoken += set.size;
      for (const l of [...set]) l.fire();
    }
  };

  const detach = (l: LocalListener) => {
    for (const key of l.keyList()) {
      const set = byKey.get(key);
      if (!set) continue;
      set.delete(l);
      if (set.size === 0) byKey.delete(key);
    }
  };

  let unsubscribe: (() => Promise<void>) | undefined;
  /** Probes of the channel sent and not yet back, by nonce. */
  const probes = new Map<string, () => void>();
  if (bus) {
    const onPayload = (payload: string) => {
      try {
        const msg = JSON.parse(payload) as { o: string; k: string[]; p?: string };
        if (msg.o === origin && msg.p !== undefined) probes.get(msg.p)?.();
        else if (msg.o !== origin && Array.isArray(msg.k)) {
          stats.remoteKeys += msg.k.length;
          for (const observe of remoteObservers) observe(msg.k);
          wakeLocal(msg.k);
        }
      } catch {
        /* a payload we did not write: ignore */
      }
    };
    // Each time the bus is back after it was lost (a database restart under LISTEN, a NATS outage): wakes published
    // meanwhile are lost, so every listener here reads again, from the watermark.
    bus.onReconnect(() => {
      stats.reconnects++;
      wakeLocal([...byKey.keys(), ...subscribers.keys()]);
    });
    const sub = await bus.subscribe(CHANNEL, onPayload);
    unsubscribe = async () => {
      await sub.unsubscribe();
      await bus.close();
    };
  }

  /** Keys per message: the bus's payload limit, less the envelope. */
  const budget = bus ? bus.maxPayload - 200 : 0;
  const publish = (keys: string[]) => {
    if (!bus) return;
    let batch: string[] = [];
    let size = 0;
    const flush = () => {
      if (batch.length === 0) return;
      void bus.publish(CHANNEL, JSON.stringify({ o: origin, k: batch }));
      batch = [];
      size = 0;
    };
    for (const key of keys) {
      if (size + key.length + 4 > budget) flush();
      batch.push(key);
      size += key.length + 4;
    }
    flush();
  };

  /** After close (shutdown), listeners are born closed: a long-poll arriving then answers at once. */
  let closed = false;

  return {
    listen(keys) {
      const list = [...new Set(keys)];
      const l = new LocalListener(list, detach, onWait);
      if (closed) {
        l.close();
        return l;
      }
      for (const key of list) {
        let set = byKey.get(key);
        if (!set) byKey.set(key, (set = new Set()));
        set.add(l);
      }
      return l;
    },
    wake(keys) {
      const list = [...new Set(keys)];
      stats.localKeys += list.length;
      wakeLocal(list);
      publish(list);
    },
    onRemoteWake(observer) {
      remoteObservers.push(observer);
    },
    subscribe(key, callback) {
      let subs = subscribers.get(key);
      if (!subs) subscribers.set(key, (subs = new Set()));
      subs.add(callback);
      return () => {
        subs.delete(callback);
        if (subs.size === 0) subscribers.delete(key);
      };
    },
    async close() {
      closed = true;
      for (const set of byKey.values()) for (const l of [...set]) l.close();
      await unsubscribe?.();
    },
    waiting() {
      return waiting;
    },
    stats() {
      return { ...stats };
    },
    probe(timeoutMs) {
      if (!bus) return Promise.resolve(true);
      if (!bus.connected()) return Promise.resolve(false);
      const nonce = randomUUID();
      return new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          probes.delete(nonce);
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        probes.set(nonce, () => done(true));
        // Other processes read it as a wake of no keys.
        void bus.publish(CHANNEL, JSON.stringify({ o: origin, k: [], p: nonce }));
      });
    },
    size() {
      const all = new Set<LocalListener>();
      for (const set of byKey.values()) for (const l of set) all.add(l);
      return all.size;
    },
  };
}
