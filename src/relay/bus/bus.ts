/**
 * The bus between server processes: named channels carrying short strings (wake keys, typing and presence changes),
 * published to every process subscribed, this one included. It carries hints, never data: a message lost while the
 * bus is away costs latency, not correctness, because every subscriber of onReconnect (the notifier) wakes all its
 * long-polls when the bus is back, and they re-read from the database's watermark. Two implementations: PostgreSQL
 * LISTEN/NOTIFY (pg-bus.ts, the zero-setup default) and NATS core publish/subscribe (nats-bus.ts, BUS_URL).
 * docs/scaling.md says when to choose which.
 */

export type BusKind = 'postgres' | 'nats';

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

export interface Bus {
  readonly kind: BusKind;
  /** The largest payload a message may carry (PostgreSQL NOTIFY: under 8000 bytes). */
  readonly maxPayload: number;
  /**
   * Sends `payload` on `channel` to every subscribed process. Never rejects (a lost message is not an error). Messages
   * one process publishes after the previous publish resolved arrive in that order, also across channels.
   */
  publish(channel: string, payload: string): Promise<void>;
  /** Receives every payload published on `channel` by any process, this one too. Resolves once subscribed. */
  subscribe(channel: string, onMessage: (payload: string) => void): Promise<BusSubscription>;
  /** `callback` runs each time the bus is back after it was lost: what was published meanwhile may be lost. */
  onReconnect(callback: () => void): void;
  /** Whether the client holds a connection now (NATS); PostgreSQL's LISTEN is checked by a probe (Notifier.probe). */
  connected(): boolean;
  close(): Promise<void>;
}
