/**
 * GET /health (the process is alive and serving) and GET /ready (it can do its work: relay/readiness.ts), for load
 * balancers and orchestrators. Not ready is 503 M_UNKNOWN with a retry hint, naming the checks that failed.
 */
import { unavailable } from '../errors.js';
import { checkReadiness } from '../relay/readiness.js';
import { route } from './route.js';

export const healthRoutes = [
  /** GET /health */
  route({
    operationId: 'getHealth',
    method: 'GET',
    path: '/health',
    access: 'none',
    handler: async () => ({ status: 'ok' }),
  }),
  /** GET /ready */
  route({
    operationId: 'getReady',
    method: 'GET',
    path: '/ready',
    access: 'none',
    handler: async ({ hs }) => {
      const { ready, checks } = await checkReadiness(hs);
      if (!ready) {
        const failed = Object.entries(checks).filter(([, r]) => r !== 'ok').map(([name]) => name);
        throw unavailable(`Not ready: ${failed.join(', ')} check failed.`, 1000);
      }
      return { status: 'ready', checks };
    },
  }),
];
