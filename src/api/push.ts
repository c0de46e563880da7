/**
 * Push notifications API (spec "Push notifications"): pushers (GET /pushers, POST /pushers/set) and the user's
 * notifications (GET /notifications). Bodies are checked against the spec's shapes here; the rules are in relay/push/.
 */
import { z } from 'zod';
import { getPushers, setPusher } from '../relay/push/pushers.js';
import { getNotifications } from '../relay/push/notifications.js';
import { CLIENT_V3, route } from './route.js';

const utf8Bytes = (max: number) => (s: string) => Buffer.byteLength(s) <= max;

/** pusher.yaml: pushkey at most 512 bytes, app_id at most 64 characters; the display strings bounded as sensible. */
const pusherBody = z.object({
  kind: z.string().min(1).max(32).nullable(),
  app_id: z.string().min(1).max(64),
  pushkey: z.string().min(1).refine(utf8Bytes(512), 'at most 512 bytes'),
  app_display_name: z.string().max(256).optional(),
  device_display_name: z.string().max(256).optional(),
  profile_tag: z.string().max(256).optional(),
  lang: z.string().max(64).optional(),
  data: z.record(z.string(), z.unknown()).refine((d) => Buffer.byteLength(JSON.stringify(d)) <= 4096, 'at most 4096 bytes of JSON').optional(),
  append: z.boolean().optional(),
});

const notificationsQuery = z.object({
  from: z.string().max(32).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  only: z.string().max(64).optional(),
});

export const pushRoutes = [
  /** GET /_matrix/client/v3/notifications */
  route({
    operationId: 'getNotifications',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/notifications`,
    access: 'user',
    query: notificationsQuery,
    handler: async ({ hs, requester, query }) => getNotifications(hs, requester.userId, query),
  }),
  /** GET /_matrix/client/v3/pushers */
  route({
    operationId: 'getPushers',
    r0: true,
    method: 'GET',
    path: `${CLIENT_V3}/pushers`,
    access: 'user',
    handler: async ({ hs, requester }) => ({ pushers: await getPushers(hs, requester.userId) }),
  }),
  /** POST /_matrix/client/v3/pushers/set */
  route({
    operationId: 'postPusher',
    r0: true,
    method: 'POST',
    path: `${CLIENT_V3}/pushers/set`,
    access: 'user',
    body: pusherBody,
    handler: async ({ hs, requester, body }) => {
      await setPusher(hs, requester, body);
      return {};
    },
  }),
];
