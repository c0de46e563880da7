/**
 * Start-up: read config -> open the database (PostgreSQL or embedded) -> migrate -> buildApp -> listen.
 * SIGINT/SIGTERM stop accepting, let requests in flight finish, then close the database.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { helpText, hostForUrl, isConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/open.js';
import { DataDirInUseError } from './db/embedded.js';
import { migrate, NewerSchemaError } from './db/migrate.js';
import { buildApp } from './app.js';
import { createHs, createLogger, type Hs } from './hs.js';
import { startRetention } from './relay/retention.js';
import { startMediaJanitor } from './relay/media/deletion.js';
import { startMetricsListener, type MetricsListener } from './api/metrics.js';
import { startPushDelivery } from './relay/push/delivery.js';

export interface RunningServer {
  hs: Hs;
  server: Server;
  url: string;
  /** The metrics listener's URL (METRICS_PORT), if any. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/** Starts a server for a configuration; used by main and by tests that need a real listening server. */
export async function startServer(config: Config, log = createLogger(config)): Promise<RunningServer> {
  const db = await openDatabase(config);
  if (db.embedded) log.info({ dataDir: config.dataDir }, 'Using the embedded database (PGlite): for trying out and small installs; set DATABASE_URL to use PostgreSQL.');
  try {
    const applied = await migrate(db, (m) => log.warn(m));
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
  } catch (err) {
    await db.close();
    throw err;
  }
  const hs = await createHs(config, db, log);
  const stopRetention = startRetention(hs);
  const stopMediaJanitor = startMediaJanitor(hs);
  const pushDelivery = hs.config.pushDelivery ? startPushDelivery(hs) : undefined;
  const app = buildApp(hs);
  let server: Server;
  try {
    // HTTPS served by the server itself (TLS_CERT, TLS_KEY): browsers give the web client's crypto only to secure contexts.
    server = config.tlsCert !== undefined && config.tlsKey !== undefined
      ? (createHttpsServer({ cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }, app.callback()) as unknown as Server).listen(config.port, config.host)
      : app.listen(config.port, config.host);
  } catch (err) {
    stopRetention();
    stopMediaJanitor();
    await pushDelivery?.stop();
    await hs.notifier.close();
    await db.close();
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `${config.tlsCert !== undefined ? 'https' : 'http'}://${hostForUrl(config.host)}:${port}`;
  let metricsListener: MetricsListener | undefined;
  if (config.metricsPort !== undefined) {
    try {
      metricsListener = await startMetricsListener(hs, config.metricsHost, config.metricsPort);
    } catch (err) {
      server.close();
      await hs.notifier.close();
      await db.close();
      throw err;
    }
  }
  let stopping: Promise<void> | undefined;
  // Responses finished during shutdown close their connection, so keep-alive does not hold the exit back.
  server.on('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  const stop = () =>
    (stopping ??= (async () => {
      stopRetention();
      stopMediaJanitor();
      await metricsListener?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Waiting long-polls answer now (with what they have) instead of holding the shutdown for their timeout.
      await hs.notifier.close();
      await closed;
      await pushDelivery?.stop();
      await db.close();
    })());
  return { hs, server, url, metricsUrl: metricsListener?.url, stop };
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (isConfigError(err)) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config);
  if (argv.includes('--migrate-only')) {
    const db = await openDatabase(config);
    try {
      const applied = await migrate(db, (m) => log.warn(m));
      log.info({ migrations: applied }, applied.length ? 'database migrated' : 'database schema is up to date');
    } finally {
      await db.close();
    }
    return;
  }
  const running = await startServer(config, log);
  if (config.allowPlaintextMessages) {
    log.warn('ALLOW_PLAINTEXT_MESSAGES is ON: this server accepts UNENCRYPTED room messages. Use it only to run conformance suites.');
  }
  log.info({ url: running.url, serverName: config.serverName, registration: config.registration }, `SecureComm listening on ${running.url}`);
  if (running.metricsUrl) log.info({ url: running.metricsUrl }, `metrics on ${running.metricsUrl}`);
  else if (config.metricsToken !== undefined) log.info('metrics on /metrics of the main listener, for holders of METRICS_TOKEN');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down: finishing requests in flight');
      running.stop().then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err) => {
          log.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    });
  }
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  main(process.argv.slice(2)).catch((err) => {
    if (err instanceof NewerSchemaError || err instanceof DataDirInUseError) {
      console.error(`Refusing to start: ${err.message}`);
      process.exit(3);
    }
    console.error(err);
    process.exit(1);
  });
}
