/**
 * The end-to-end encryption sections of /sync for one device: to_device (in order, bounded per response, deleted
 * only once acknowledged by a later token), device_lists (changed / left), one-time key counts and the unused
 * fallback key types (always present: it tells clients that fallback keys are supported). Read from the sync's
 * snapshot; device lists need more reads only when some device list or membership changed in the range.
 */
import type { Hs, Requester } from '../../hs.js';
import type { SyncSnapshot } from '../../db/sync-snapshot.js';
import { deviceListsBetween, type DeviceLists } from '../keys/device-lists.js';

export interface E2eeSections {
  to_device: { events: { sender: string; type: string; content: Record<string, unknown> }[] };
  device_lists: DeviceLists;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
  /** The last to-device message this response carries (the next token acknowledges it). */
  toDeviceAck: number | undefined;
}

export async function e2eeSections(hs: Hs, requester: Requester, since: number | undefined, ack: number | undefined, snapshot: SyncSnapshot): Promise<E2eeSections> {
  // On an initial sync clients query every device they need, so there is no list of changes to give.
  const lists = since !== undefined && snapshot.deviceListActivity ? await deviceListsBetween(hs.sql, requester.userId, since, snapshot.head, true) : { changed: [], left: [] };
  const toDevice = snapshot.toDevice;
  return {
    to_device: { events: toDevice.map((r) => ({ sender: r.sender, type: r.type, content: r.content })) },
    device_lists: lists,
    device_one_time_keys_count: { signed_curve25519: 0, ...snapshot.oneTimeKeyCounts },
    device_unused_fallback_key_types: snapshot.unusedFallbackKeyTypes,
    toDeviceAck: toDevice.length > 0 ? toDevice[toDevice.length - 1].messageId : ack,
  };
}

export function e2eeIsEmpty(s: Omit<E2eeSections, 'toDeviceAck'>): boolean {
  return s.to_device.events.length === 0 && s.device_lists.changed.length === 0 && s.device_lists.left.length === 0;
}
