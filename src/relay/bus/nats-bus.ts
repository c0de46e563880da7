/**
 * The bus on NATS core publish/subscribe (BUS_URL=nats://host:4222): no stored messages, no JetStream. A channel is
 * the subject `<BUS_PREFIX>.<channel>`, so several deployments can share a NATS server. The client reconnects for
 * ever (a short wait between attempts); it re-sends its subscriptions before it reports the reconnect, and the bus
 * then runs the onReconnect callbacks. Messages published while disconnected wait in the client's buffer and go out
 * after the reconnect. One connection carries every channel, so one process's messages arrive in publish order.
 */
import { connect, Events, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Bus, BusSubscription } from './bus.js';

/** Far below NATS's default max_payload (1 MB): wakes are batched to this size. */
const MAX_PAYLOAD = 64 * 1024;

export interface NatsBusOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** How long the first connection may take before start-up fails. */
  connectTimeoutMs?: number;
}

/** The server's address without credentials, for log lines. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable BUS_URL)';
  }
}

export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const { url, prefix, log } = options;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url,
      name: 'securecomm',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      timeout: options.connectTimeoutMs ?? 5000,
      // A silent peer (a half-open connection) is noticed after about two pings.
      pingInterval: 10_000,
      maxPingOut: 2,
    });
  } catch (err) {
    throw new Error(`cannot reach the bus at ${redactedUrl(url)}: ${(err as Error).message}`);
  }
  let connected = true;
  let closed = false;
  const reconnectCallbacks: (() => void)[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        connected = false;
        log.warn({ bus: redactedUrl(url) }, 'bus lost: reconnecting');
      } else if (status.type === Events.Reconnect) {
        connected = true;
        log.info({ bus: redactedUrl(url) }, 'bus back: waking every long-poll');
        for (const callback of reconnectCallbacks) callback();
      }
    }
  })().catch(() => {});
  const subject = (channel: string) => `${prefix}.${channel}`;

  return {
    kind: 'nats',
    maxPayload: MAX_PAYLOAD,
    async publish(channel, payload) {
      if (closed) return;
      try {
        nc.publish(subject(channel), payload);
      } catch {
        /* closed or draining: a lost message costs latency only */
      }
    },
    async subscribe(channel, onMessage) {
      const sub = nc.subscribe(subject(channel), {
        callback: (err, msg) => {
          if (err) return;
          try {
            onMessage(msg.string());
          } catch (e) {
            log.error({ err: e, channel }, 'bus message handler failed');
          }
        },
      });
      // Resolves once the server has the subscription: nothing published after this is missed.
      await nc.flush().catch(() => {});
      const subscription: BusSubscription = {
        async unsubscribe() {
          if (!sub.isClosed()) sub.unsubscribe();
        },
      };
      return subscription;
    },
    onReconnect(callback) {
      reconnectCallbacks.push(callback);
    },
    connected: () => connected && !closed && !nc.isClosed(),
    async close() {
      if (closed) return;
      closed = true;
      await nc.close().catch(() => {});
    },
  };
}
