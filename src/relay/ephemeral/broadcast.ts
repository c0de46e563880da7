/**
 * The channel between server processes for state kept in memory (typing, presence): a channel of the bus
 * (relay/bus/: PostgreSQL NOTIFY or NATS) whose messages are JSON objects stamped with their origin; a process never
 * hears its own. Without a bus (the embedded mode: one process) publishing does nothing. Messages are checked by the
 * receiver.
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/bus.js';

export interface Broadcast<M extends object> {
  /** Sends to every other process (a lost message is not an error: the state is ephemeral). */
  publish(msg: M): Promise<void>;
  close(): Promise<void>;
}

/** Opens `channel`; `onMessage` gets each other process's message as parsed JSON, still to be checked. */
export async function openBroadcast<M extends object>(bus: Bus | undefined, channel: string, onMessage: (msg: Partial<M>) => void): Promise<Broadcast<M>> {
  if (!bus) return { publish: async () => {}, close: async () => {} };
  const origin = randomUUID();
  const sub = await bus.subscribe(channel, (payload) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || (parsed as { o?: unknown }).o === origin) return;
    onMessage(parsed as Partial<M>);
  });
  return {
    publish: (msg) => bus.publish(channel, JSON.stringify({ ...msg, o: origin })),
    close: () => sub.unsubscribe(),
  };
}
