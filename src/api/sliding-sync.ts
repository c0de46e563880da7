/**
 * POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync: simplified sliding sync (MSC4186, the unstable
 * revision clients speak today). `pos` and `timeout` in the query, the rest in the body; the wire shape is the
 * adapter's (relay/sliding-sync/unstable.ts), the work the engine's (relay/sliding-sync/engine.ts).
 */
import { z } from 'zod';
import { slidingSync } from '../relay/sliding-sync/engine.js';
import { parsePos } from '../relay/sliding-sync/pos.js';
import { unstableBodySchema, unstableRequest, unstableResponse } from '../relay/sliding-sync/unstable.js';
import { route } from './route.js';

export const SLIDING_SYNC_UNSTABLE = '/_matrix/client/unstable/org.matrix.simplified_msc3575';

export const slidingSyncRoutes = [
  route({
    operationId: 'slidingSyncUnstable',
    method: 'POST',
    path: `${SLIDING_SYNC_UNSTABLE}/sync`,
    access: 'user',
    guests: true,
    query: z.object({
      pos: z.string().max(100).optional(),
      timeout: z.coerce.number().int().min(0).default(0),
      set_presence: z.enum(['offline', 'online', 'unavailable']).optional(),
    }),
    body: unstableBodySchema,
    handler: async ({ hs, requester, query, body }) => {
      const pos = query.pos !== undefined ? parsePos(query.pos) : undefined;
      const result = await slidingSync(hs, requester, unstableRequest(body, pos, query.timeout, query.set_presence));
      return unstableResponse(result, body.txn_id);
    },
  }),
];
