/** GET /sync: since, timeout (long-poll), full_state, filter (a stored filter id or inline JSON), set_presence. */
import { z } from 'zod';
import type { Hs } from '../hs.js';
import { filterSchema, type Filter } from '../relay/filters.js';
import { getFilter } from '../relay/stored-filters.js';
import { sync } from '../relay/sync/sync.js';
import { parseSyncToken } from '../relay/sync/token.js';
import { CLIENT_V3, route } from './route.js';
import { parseJsonParam } from './json-param.js';

async function resolveFilter(hs: Hs, userId: string, raw: string | undefined): Promise<Filter> {
  if (raw === undefined || raw === '') return {};
  if (raw.trimStart().startsWith('{')) return parseJsonParam(filterSchema, raw, 'filter');
  return getFilter(hs, userId, userId, raw);
}

export const syncRoutes = [
  /** GET /_matrix/client/v3/sync */
  route({
    operationId: 'sync',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/sync`,
    access: 'user',
    guests: true,
    // The sync snapshot checks the token in the same statement as the data.
    confirmsToken: true,
    query: z.object({
      since: z.string().optional(),
      timeout: z.coerce.number().int().min(0).default(0),
      full_state: z.enum(['true', 'false']).default('false'),
      filter: z.string().optional(),
      set_presence: z.enum(['offline', 'online', 'unavailable']).optional(),
      use_state_after: z.enum(['true', 'false']).optional(),
    }),
    handler: async ({ hs, requester, query }) => {
      const since = query.since !== undefined ? parseSyncToken(query.since, 'since') : undefined;
      const filter = await resolveFilter(hs, requester.userId, query.filter);
      return sync(hs, requester, { since: since?.pos, toDeviceAck: since?.toDeviceAck, typing: since?.typing, presence: since?.presence, setPresence: query.set_presence, timeoutMs: query.timeout, fullState: query.full_state === 'true', useStateAfter: query.use_state_after === 'true', filter });
    },
  }),
];
