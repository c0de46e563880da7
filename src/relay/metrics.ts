/**
 * Prometheus metrics (prom-client), one registry per server (tests run several in one process). What a scrape shows
 * is operational only: requests by route template (never a raw path, which carries user and room ids), method and
 * status; open long-polls and wakes; the pool's size, use and waits; the stream watermark and the positions not yet
 * committed behind it; queued to-device messages; lock waits; event-loop delay, GC and memory (prom-client's
 * defaults). No label ever holds a user, room, device or token. Still, traffic patterns are metadata: metrics are
 * off unless configured (METRICS_PORT or METRICS_TOKEN), and served only on their own listener or behind a token.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sql } from '../db/database.js';
import { selectDatabaseGauges } from '../db/metrics.js';
import { observePoolWaits, poolStats } from '../db/pool.js';
import type { Bus } from './bus/bus.js';
import type { Notifier } from './notifier.js';

export interface Metrics {
  /** One finished HTTP request: `route` is the route's template ("(unrouted)" when none matched). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** The exposition text for a scrape, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** Latency buckets (seconds): fine below 100 ms, where the delivery goals are; long-polls land in the last ones. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter whose value is a running total kept elsewhere, read at each scrape. */
function totalCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number | Promise<number | undefined> | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const v = await read();
      if (v === undefined) this.reset();
      else this.set(v);
    },
  });
}

export function createMetrics(sql: Sql, notifier: Notifier, bus?: Bus): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 5 });

  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'securecomm_http_requests_total', help: 'HTTP requests answered, by method, route template and status.', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'securecomm_http_request_duration_seconds',
    help: 'Time from a request to its answer, by method, route template and status (a long-poll counts its wait).',
    labelNames, buckets: LATENCY_BUCKETS, registers: [registry],
  });

  const poolWait = new Histogram({
    name: 'securecomm_db_pool_wait_seconds',
    help: 'How long queries and transactions waited for a database connection (0 when one was free).',
    labelNames: ['kind'], buckets: WAIT_BUCKETS, registers: [registry],
  });
  observePoolWaits(sql, (kind, seconds) => poolWait.observe({ kind }, seconds));
  gauge(registry, 'securecomm_db_pool_size', 'Database connections in the pool.', () => poolStats(sql)?.size);
  gauge(registry, 'securecomm_db_pool_reserved', 'Database connections reserved by transactions now.', () => poolStats(sql)?.reserved);
  gauge(registry, 'securecomm_db_pool_waiting', 'Queries and transactions waiting for a database connection now.', () => poolStats(sql)?.waiting);
  totalCounter(registry, 'securecomm_db_pool_timeouts_total', 'Waits for a database connection that gave up (answered 503).', () => poolStats(sql)?.timeouts ?? 0);

  gauge(registry, 'securecomm_sync_long_polls', 'Long-polls (/sync) waiting for news now.', () => notifier.waiting());
  gauge(registry, 'securecomm_notifier_listeners', 'Listeners registered with the notifier now (long-polls reading or waiting).', () => notifier.size());
  new Counter({
    name: 'securecomm_wake_keys_total',
    help: 'Keys (users, rooms) woken: by writes in this process (local) or in other processes (remote).',
    labelNames: ['source'], registers: [registry],
    collect() {
      const s = notifier.stats();
      this.reset();
      this.inc({ source: 'local' }, s.localKeys);
      this.inc({ source: 'remote' }, s.remoteKeys);
    },
  });
  totalCounter(registry, 'securecomm_listener_wakes_total', 'Listeners woken (each makes a long-poll read again).', () => notifier.stats().listenersWoken);
  if (bus?.kind === 'nats') gauge(registry, 'securecomm_bus_connected', '1 while the NATS bus (BUS_URL) is connected, else 0 (the process misses wakes meanwhile).', () => (bus.connected() ? 1 : 0));
  totalCounter(registry, 'securecomm_bus_reconnects_total', 'Times the cross-process wake channel came back after it was lost (every long-poll was woken).', () => notifier.stats().reconnects);

  // The database's share, read once per scrape; a database that is away leaves these out of the scrape.
  let reading: Promise<Awaited<ReturnType<typeof selectDatabaseGauges>> | undefined> | undefined;
  const fromDatabase = () => (reading ??= selectDatabaseGauges(sql).catch(() => undefined));
  gauge(registry, 'securecomm_stream_watermark', 'The stream watermark: every position at or below it has committed.', async () => (await fromDatabase())?.watermark);
  gauge(registry, 'securecomm_stream_positions_in_flight', 'Stream positions handed out above the watermark (writes not yet committed).', async () => {
    const g = await fromDatabase();
    return g && Math.max(0, g.lastPosition - g.watermark);
  });
  gauge(registry, 'securecomm_to_device_queued', 'To-device messages waiting for their devices to sync.', async () => (await fromDatabase())?.toDeviceQueued);
  gauge(registry, 'securecomm_db_lock_waits', 'Database sessions waiting for a lock now (writers queued on the stream head among them).', async () => (await fromDatabase())?.lockWaits);

  return {
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    async scrape() {
      reading = undefined;
      try {
        return { contentType: registry.contentType, body: await registry.metrics() };
      } finally {
        reading = undefined;
      }
    },
  };
}
