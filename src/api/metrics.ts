/**
 * GET /metrics (Prometheus exposition, relay/metrics.ts) in its two places: on the main listener for holders of
 * METRICS_TOKEN (when no METRICS_PORT is set), and on a listener of its own (METRICS_PORT on METRICS_HOST, loopback by
 * default; the token is required there too when set). Anywhere else /metrics is unknown (404 M_UNRECOGNIZED), as it is
 * when metrics are off. The token is compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { MatrixError, missingToken, unknownError, unknownToken, unrecognized } from '../errors.js';
import { hostForUrl } from '../config.js';
import type { Hs } from '../hs.js';
import { bearerFromHeader } from './authenticate.js';
import { route } from './route.js';

export const METRICS_PATH = '/metrics';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Throws unless `given` is the configured token (nothing to check when none is configured). */
function checkToken(expected: string | undefined, given: string | undefined): void {
  if (expected === undefined) return;
  if (given === undefined) throw missingToken('Metrics need the metrics token: "Authorization: Bearer <METRICS_TOKEN>".');
  if (!timingSafeEqual(digest(given), digest(expected))) throw unknownToken('Unknown metrics token.');
}

/** Whether the main listener serves /metrics: metrics on, behind a token, and no listener of their own. */
const onMainListener = (hs: Hs) => hs.metrics !== undefined && hs.config.metricsToken !== undefined && hs.config.metricsPort === undefined;

export const metricsRoutes = [
  /** GET /metrics */
  route({
    operationId: 'getMetrics',
    method: 'GET',
    path: METRICS_PATH,
    access: 'none',
    handler: async ({ hs, ctx }) => {
      if (!onMainListener(hs)) throw unrecognized(404, 'Unrecognized request.');
      checkToken(hs.config.metricsToken, bearerFromHeader(ctx.get('authorization')));
      const { contentType, body } = await hs.metrics!.scrape();
      ctx.type = contentType;
      return body;
    },
  }),
];

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** Starts the metrics listener (METRICS_HOST:METRICS_PORT); only GET /metrics is served there. */
export async function startMetricsListener(hs: Hs, host: string, port: number): Promise<MetricsListener> {
  const metrics = hs.metrics;
  if (!metrics) throw new Error('metrics are off');
  const server: Server = createServer((req, res) => {
    const answer = async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== METRICS_PATH) throw unrecognized(404, 'Unrecognized request.');
      if (req.method !== 'GET') throw unrecognized(405, `Method ${req.method} is not allowed on this endpoint.`);
      checkToken(hs.config.metricsToken, bearerFromHeader(req.headers.authorization));
      const { contentType, body } = await metrics.scrape();
      res.writeHead(200, { 'Content-Type': contentType }).end(body);
    };
    answer().catch((err: unknown) => {
      const e = err instanceof MatrixError ? err : unknownError();
      res.writeHead(e.status, { ...e.headers, 'Content-Type': 'application/json' }).end(JSON.stringify(e.body()));
    });
  });
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${hostForUrl(host)}:${bound}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
