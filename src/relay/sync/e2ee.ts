/**
 * The end-to-end encryption sections of /sync for one device: to_device (in order, bounded per response, deleted
 * only once acknowledged by a later token), device_lists (changed / left), one-time key counts and the unused
 * fallback key types (always present: it tells clients that fallback keys are supported).
 */
import type { Hs } from '../../hs.js';
import type { Requester } from '../sessions.js';
import { deviceKeyCounts } from '../keys/keys.js';
import { deviceListsBetween, type DeviceLists } from '../keys/device-lists.js';
import { toDeviceForSync } from '../to-device.js';

export interface E2eeSections {
  to_device: { events: { sender: string; type: string; content: Record<string, unknown> }[] };
  device_lists: DeviceLists;
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
  /** The last to-device message this response carries (the next token acknowledges it). */
  toDeviceAck: number | undefined;
}

export async function e2eeSections(hs: Hs, requester: Requester, since: number | undefined, ack: number | undefined, head: number): Promise<E2eeSections> {
  const [toDevice, lists, counts] = await Promise.all([
    toDeviceForSync(hs, requester.userId, requester.deviceId, ack, head),
    // On an initial sync clients query every device they need, so there is no list of changes to give.
    since !== undefined ? deviceListsBetween(hs.sql, requester.userId, since, head) : Promise.resolve({ changed: [], left: [] }),
    deviceKeyCounts(hs, requester.userId, requester.deviceId),
  ]);
  return { to_device: { events: toDevice.events }, device_lists: lists, ...counts, toDeviceAck: toDevice.ack };
}

export function e2eeIsEmpty(s: Omit<E2eeSections, 'toDeviceAck'>): boolean {
  return s.to_device.events.length === 0 && s.device_lists.changed.length === 0 && s.device_lists.left.length === 0;
}
