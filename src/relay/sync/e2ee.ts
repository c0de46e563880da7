/**
 * The end-to-end encryption sections of /sync for one device: to_device (in order, bounded per response, deleted
 * only once acknowledged by a later token), device_lists (changed / left), one-time key counts and the unused
 * fallback key types (always present: it tells clients that fallback keys are supported). Read from the sync's
 * snapshot; device lists need more reads only when some device list or membership changed in the range.
 */
import type { E2eeSnapshot } from '../../db/sync-snapshot.js';
import { deviceListsBetween, type DeviceLists } from '../keys/device-lists.js';
import { TO_DEVICE_PER_SYNC } from '../to-device.js';
import type { SyncSection } from './section.js';

export interface E2eePart {
  to_device: { events: { sender: string; type: string; content: Record<string, unknown> }[] };
  device_lists: DeviceLists;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

export const e2eeSection: SyncSection<E2eePart> = {
  async build({ hs, requester, since, snapshot }) {
    const e2ee = snapshot.e2ee;
    // On an initial sync clients query every device they need, so there is no list of changes to give.
    const lists = since !== undefined && e2ee.deviceListActivity ? await deviceListsBetween(hs.sql, requester.userId, since, snapshot.head, true) : { changed: [], left: [] };
    return {
      to_device: { events: e2ee.toDevice.map((r) => ({ sender: r.sender, type: r.type, content: r.content })) },
      device_lists: lists,
      device_one_time_keys_count: { signed_curve25519: 0, ...e2ee.oneTimeKeyCounts },
      device_unused_fallback_key_types: e2ee.unusedFallbackKeyTypes,
    };
  },
  isEmpty: (part) => part.to_device.events.length === 0 && part.device_lists.changed.length === 0 && part.device_lists.left.length === 0,
};

/** The last to-device message a response carries, which its token acknowledges (else the acknowledgement it came with). */
export function toDeviceAckAfter(e2ee: E2eeSnapshot, ack: number | undefined): number | undefined {
  return e2ee.toDevice.at(-1)?.messageId ?? ack;
}

/** Whether the response holds every to-device message up to its token (a full batch may not). */
export function toDeviceComplete(e2ee: E2eeSnapshot): boolean {
  return e2ee.toDevice.length < TO_DEVICE_PER_SYNC;
}
