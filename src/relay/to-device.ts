/**
 * To-device messages (they carry the room keys): sent to given devices or `*` (the user's real devices, never
 * cross-signing keys), idempotent per transaction id, delivered in order by /sync and deleted only once the
 * device acknowledges them by syncing with a later token.
 */
import type { Hs, Requester } from '../hs.js';
import { selectDeviceIdsOfUsers } from '../db/devices.js';
import { insertToDeviceAtNextPosition, insertToDeviceTxn } from '../db/to-device.js';
import { onNewToDevice } from './wakes.js';
import { commitPipelined, transaction } from '../db/database.js';
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
    // One round trip for the transaction id and every recipient's devices, then one for the position, the inbox rows
    // and COMMIT: the stream head's lock is held for PostgreSQL's work only, never for a round trip to this process.
    const [fresh, devicesOf] = await Promise.all([
      insertToDeviceTxn(tx, requester.userId, requester.deviceId, txnId),
      selectDeviceIdsOfUsers(tx, Object.keys(messages)),
    ]);
    if (!fresh) return;
    const rows: { userId: string; deviceId: string; content: unknown }[] = [];
    for (const [userId, byDevice] of Object.entries(messages)) {
      const devices = devicesOf.get(userId) ?? [];
      const known = new Set(devices);
      for (const [deviceId, content] of Object.entries(byDevice)) {
        const targets = deviceId === '*' ? devices : known.has(deviceId) ? [deviceId] : [];
        for (const d of targets) rows.push({ userId, deviceId: d, content });
      }
      if (rows.some((r) => r.userId === userId)) recipients.add(userId);
    }
    if (rows.length === 0) return;
    // One position for the whole send, taken last, in the same statement as the inbox rows.
    await Promise.all([insertToDeviceAtNextPosition(tx, requester.userId, type, rows), commitPipelined(tx)]);
  });
  if (recipients.size > 0) onNewToDevice(hs.notifier, recipients);
}
