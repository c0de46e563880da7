/**
 * The push delivery job: each server process runs one (PUSH_DELIVERY), and they share the work through the
 * database. A run claims the pushers that have notifications past their position (FOR UPDATE SKIP LOCKED, then a
 * lease: one process per pusher at a time, and a crashed process's lease runs out), pushes each pusher's batch in
 * order, one request per notification, and moves the pusher's position after each success, so a notification is
 * pushed once. A failing gateway (5xx, 429, no answer) is retried with exponential backoff (PUSH_RETRY_INITIAL,
 * doubled, at most PUSH_RETRY_MAX) up to PUSH_MAX_ATTEMPTS, then that notification is given up; a rejected pushkey
 * deletes its pusher. Runs start on the notifier's push wake (a send that stored notifications, in any process),
 * when a retry is due, and every POLL_MS (missed wakes, expired leases). Sends never wait for any of it.
 */
import { randomUUID } from 'node:crypto';
import type { Hs } from '../../hs.js';
import * as pushersDb from '../../db/pushers.js';
import { selectPendingNotifications, selectRoomName, selectUnreadTotal } from '../../db/notifications.js';
import { PUSH_KEY } from '../notifier.js';
import { pushToGateway } from './gateway.js';

/** Pushers claimed per statement, and notifications pushed per pusher per claim. */
const PUSHERS_PER_CLAIM = 20;
const NOTIFICATIONS_PER_PUSHER = 20;
/** A claim outlives a batch of gateway requests at their timeout (gateway.ts). */
const LEASE_MS = 5 * 60_000;
/** Runs start at most this often: a burst of sends makes one run, not one per send. */
const MIN_RUN_SPACING_MS = 50;
const POLL_MS = 30_000;

export interface PushDelivery {
  /** Look for work now (also called by the notifier's push wake). */
  kick(): void;
  /** Stops starting runs and waits for the one in progress. */
  stop(): Promise<void>;
}

export function backoffMs(hs: Pick<Hs, 'config'>, failures: number): number {
  return Math.min(hs.config.pushRetryInitialMs * 2 ** Math.max(0, failures - 1), hs.config.pushRetryMaxMs);
}

/** Pushes one pusher's batch; the lease is released at the end whatever happens. */
async function deliverTo(hs: Hs, owner: string, pusher: pushersDb.PusherRow): Promise<void> {
  const log = { pusherId: pusher.pusherId };
  try {
    const pending = await selectPendingNotifications(hs.sql, pusher.userId, pusher.lastStreamPos, NOTIFICATIONS_PER_PUSHER);
    if (pending.length === 0) return;
    const unread = await selectUnreadTotal(hs.sql, pusher.userId);
    let failures = pusher.failures;
    for (const n of pending) {
      const extra = hs.config.pushIncludeSender ? { sender: n.sender, roomName: await selectRoomName(hs.sql, n.roomId) } : {};
      const result = await pushToGateway(pusher, { eventId: n.eventId, roomId: n.roomId, unread, ...extra });
      if (result.kind === 'rejected') {
        hs.log.info(log, 'push: the gateway rejected the pushkey; pusher deleted');
        await pushersDb.deletePusherById(hs.sql, pusher.pusherId);
        return;
      }
      if (result.kind === 'retry') {
        failures++;
        if (failures < hs.config.pushMaxAttempts) {
          hs.log.warn({ ...log, failures, reason: result.reason }, 'push: gateway failed; will retry');
          await pushersDb.recordPusherFailure(hs.sql, pusher.pusherId, owner, failures, Date.now() + backoffMs(hs, failures));
          return;
        }
        hs.log.warn({ ...log, failures, reason: result.reason }, 'push: gateway failed too often; notification given up');
      } else if (result.kind === 'drop') {
        hs.log.warn({ ...log, status: result.status }, 'push: the gateway refused the request; notification given up');
      }
      failures = 0;
      // Delivered or given up: the position moves past it (false: the pusher went, or its lease is no longer ours).
      if (!(await pushersDb.advancePusher(hs.sql, pusher.pusherId, owner, n.streamPos))) return;
    }
  } finally {
    await pushersDb.releasePusher(hs.sql, pusher.pusherId, owner).catch(() => {});
  }
}

export function startPushDelivery(hs: Hs): PushDelivery {
  const owner = randomUUID();
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let lastStart = 0;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(start, Math.max(0, delayMs));
    timer.unref();
  };

  const runOnce = async (): Promise<void> => {
    for (;;) {
      const now = Date.now();
      const claimed = await pushersDb.claimDuePushers(hs.sql, owner, now, now + LEASE_MS, PUSHERS_PER_CLAIM);
      await Promise.all(claimed.map((p) => deliverTo(hs, owner, p).catch((err) => hs.log.error({ pusherId: p.pusherId, err: { message: (err as Error).message } }, 'push: delivery failed'))));
      if (claimed.length < PUSHERS_PER_CLAIM || stopped) return;
    }
  };

  function start(): void {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    lastStart = Date.now();
    running = (async () => {
      let nextDelay = POLL_MS;
      try {
        await runOnce();
        const retryAt = await pushersDb.selectNextRetryTs(hs.sql);
        if (retryAt !== undefined) nextDelay = Math.min(nextDelay, Math.max(retryAt - Date.now(), MIN_RUN_SPACING_MS));
      } catch (err) {
        hs.log.error({ err: { message: (err as Error).message } }, 'push: delivery run failed');
        nextDelay = Math.min(nextDelay, 1000);
      } finally {
        running = undefined;
      }
      schedule(again ? MIN_RUN_SPACING_MS : nextDelay);
    })();
  }

  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    schedule(Math.max(0, lastStart + MIN_RUN_SPACING_MS - Date.now()));
  };
  const unsubscribe = hs.notifier.subscribe(PUSH_KEY, kick);
  kick();
  return {
    kick,
    async stop() {
      stopped = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
