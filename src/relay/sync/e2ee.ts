/**
 * The end-to-end encryption sections of /sync for one device: to_device (in order, bounded per response, deleted
 * only once acknowledged by a later token), device_lists (changed / left), one-time key counts and the unused
 * fallback key types (always present: it tells clients that fallback keys are supported). Read from the sync's
 * snapshot; device lists need more reads only when some device list or membership changed in the range.
 */
import type { E2eeSnapshot } from '../../db/sync-snapshot.js';
import type { KeyCounts } from '../../db/keys.js';
import type { ToDeviceRow } from '../../db/to-device.js';
import { deviceListsBetween, type DeviceLists } from '../keys/device-lists.js';
import { TO_DEVICE_PER_SYNC } from '../to-device.js';
import type { SyncSection } from './section.js';

export interface E2eePart {
  to_device: { events: { sender: string; type: string; content: Record<string, unknown> }[] };
  device_lists: DeviceLists;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

type ToDeviceEvent = E2eePart['to_device']['events'][number];

/** To-device messages as clients get them (sender, type, content: never the recipient or the inbox position). */
export function toDeviceEvents(rows: ToDeviceRow[]): ToDeviceEvent[] {
  return rows.map((r) => ({ sender: r.sender, type: r.type, content: r.content }));
}

/**
 * The device's key counts as clients get them: signed_curve25519 always counted (clients upload when it is missing
 * or low), and the unused fallback key types always present (it tells clients that fallback keys are supported).
 */
export function keyCountsPart(counts: KeyCounts): Pick<E2eePart, 'device_one_time_keys_count' | 'device_unused_fallback_key_types'> {
  return { device_one_time_keys_count: { signed_curve25519: 0, ...counts.oneTimeKeyCounts }, device_unused_fallback_key_types: counts.unusedFallbackKeyTypes };
}

/** Whether device lists hold a change to tell. */
export function deviceListsEmpty(lists: DeviceLists): boolean {
  return lists.changed.length === 0 && lists.left.length === 0;
}

export const e2eeSection: SyncSection<E2eePart> = {
  async build({ hs, requester, since, snapshot }) {
    const e2ee = snapshot.e2ee;
    // On an initial sync clients query every device they need, so there is no list of changes to give.
    const lists = since !== undefined && e2ee.deviceListActivity ? await deviceListsBetween(hs.sql, requester.userId, since, snapshot.head, true) : { changed: [], left: [] };
    return {
      to_device: { events: toDeviceEvents(e2ee.toDevice) },
      device_lists: lists,
      ...keyCountsPart(e2ee),
    };
  },
  isEmpty: (part) => part.to_device.events.length === 0 && deviceListsEmpty(part.device_lists),
};

/** The last to-device message a response carries, which its token acknowledges (else the acknowledgement it came with). */
export function toDeviceAckAfter(e2ee: E2eeSnapshot, ack: number | undefined): number | undefined {
  return e2ee.toDevice.at(-1)?.messageId ?? ack;
}

/** Whether the response holds every to-device message up to its token (a full batch may not). */
export function toDeviceComplete(e2ee: E2eeSnapshot): boolean {
  return e2ee.toDevice.length < TO_DEVICE_PER_SYNC;
}
