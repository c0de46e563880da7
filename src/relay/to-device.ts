/**
 * To-device messages (they carry the room keys): sent to given devices or `*` (the user's real devices, never
 * cross-signing keys), idempotent per transaction id, delivered in order by /sync and deleted only once the
 * device acknowledges them by syncing with a later token.
 */
import type { Hs, Requester } from '../hs.js';
import { selectDevices } from '../db/devices.js';
import { insertToDevice, insertToDeviceTxn } from '../db/to-device.js';
import { takeStreamPosition } from '../db/stream.js';
import { onNewToDevice } from './wakes.js';
import { transaction } from '../db/database.js';
import { checkToDeviceMessage } from './policy.js';

/** At most this many messages per /sync response; the rest follow at once in the next. */
export const TO_DEVICE_PER_SYNC = 100;

export async function sendToDevice(
  hs: Hs,
  requester: Requester,
  type: string,
  txnId: string,
  messages: Record<string, Record<string, Record<string, unknown>>>,
): Promise<void> {
  // Every message is checked before anything is written: one refused message refuses the whole send.
  for (const [userId, byDevice] of Object.entries(messages)) {
    for (const [deviceId, content] of Object.entries(byDevice)) checkToDeviceMessage(hs.config, type, content, `messages.${userId}.${deviceId}`);
  }
  const recipients = new Set<string>();
  await transaction(hs.sql, async (tx) => {
    if (!(await insertToDeviceTxn(tx, requester.userId, requester.deviceId, txnId))) return;
    const rows: { userId: string; deviceId: string; sender: string; type: string; content: unknown }[] = [];
    for (const [userId, byDevice] of Object.entries(messages)) {
      const known = new Set((await selectDevices(tx, userId)).map((d) => d.deviceId));
      for (const [deviceId, content] of Object.entries(byDevice)) {
        const targets = deviceId === '*' ? [...known] : known.has(deviceId) ? [deviceId] : [];
        for (const d of targets) rows.push({ userId, deviceId: d, sender: requester.userId, type, content });
      }
      if (rows.some((r) => r.userId === userId)) recipients.add(userId);
    }
    if (rows.length === 0) return;
    // One position for the whole send, taken last: the inbox rows are written under the stream head's lock.
    const streamPos = await takeStreamPosition(tx);
    await insertToDevice(tx, rows.map((r) => ({ ...r, streamPos })));
  });
  if (recipients.size > 0) onNewToDevice(hs.notifier, recipients);
}
