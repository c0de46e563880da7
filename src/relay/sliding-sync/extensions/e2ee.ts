/**
 * The e2ee extension (MSC3884): the device lists changed and left between the client's pos and this response's
 * watermark (none on a new connection: the client then queries every device it tracks), and the device's one-time
 * key counts and unused fallback key types, always given. The rules are /sync's (relay/sync/e2ee.ts,
 * relay/keys/device-lists.ts); only device-list changes make the part non-empty.
 */
import { z } from 'zod';
import { deviceListsBetween } from '../../keys/device-lists.js';
import { deviceListsEmpty, keyCountsPart, type E2eePart } from '../../sync/e2ee.js';
import type { ExtensionBuilder } from './types.js';

export const e2eeRequestSchema = z.object({ enabled: z.boolean().nullish() });

export type E2eeExtension = Omit<E2eePart, 'to_device'>;

export const e2eeExtension: ExtensionBuilder<z.infer<typeof e2eeRequestSchema>, E2eeExtension> = {
  async build({ hs, requester, since, upTo, snapshot }) {
    // The statement already checked whether anything changed device lists in range: most reads need no more.
    const lists = since !== undefined && snapshot.deviceListActivity ? await deviceListsBetween(hs.sql, requester.userId, since, upTo, true) : { changed: [], left: [] };
    return { device_lists: lists, ...keyCountsPart(snapshot.keyCounts!) };
  },
  isEmpty: (part) => deviceListsEmpty(part.device_lists),
};
