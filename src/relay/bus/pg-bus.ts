/**
 * The bus on PostgreSQL LISTEN/NOTIFY (the default: nothing to set up). postgres.js keeps one LISTEN connection per
 * pool for every channel, re-establishes it after a lost connection (a database restart) and calls each channel's
 * onlisten again then: that is the reconnect. A NOTIFY is sent on a pool connection; PostgreSQL delivers
 * notifications in commit order, so one process's messages arrive in the order their publishes resolved.
 */
import type { Sql } from '../../db/database.js';
import type { Bus, BusSubscription } from './bus.js';

/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7000;

export function createPgBus(sql: Sql): Bus {
  const reconnectCallbacks: (() => void)[] = [];
  // Every channel's onlisten fires after one reconnection of the shared LISTEN connection: the reconnect runs once.
  let reconnectPending = false;
  const reconnected = () => {
    if (reconnectPending) return;
    reconnectPending = true;
    setImmediate(() => {
      reconnectPending = false;
      for (const callback of reconnectCallbacks) callback();
    });
  };
  let closed = false;
  const subscriptions = new Set<BusSubscription>();

  return {
    kind: 'postgres',
    maxPayload: MAX_PAYLOAD,
    async publish(channel, payload) {
      if (closed) return;
      await sql.notify(channel, payload).catch(() => {});
    },
    async subscribe(channel, onMessage) {
      let listened = false;
      const onListen = () => {
        if (listened) reconnected();
        listened = true;
      };
      const listening = await sql.listen(channel, onMessage, onListen);
      const subscription: BusSubscription = {
        async unsubscribe() {
          if (!subscriptions.delete(subscription)) return;
          await listening.unlisten().catch(() => {});
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },
    onReconnect(callback) {
      reconnectCallbacks.push(callback);
    },
    connected: () => !closed,
    async close() {
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.unsubscribe()));
    },
  };
}
