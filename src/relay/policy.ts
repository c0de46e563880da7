/**
 * The blindness policy: the allow-list of shapes the server relays in the clear. Room events (policy/room-events.ts),
 * to-device messages (policy/to-device.ts) and uploaded keys and key backups (policy/keys.ts) are each checked against
 * an exact shape (policy/shape.ts); anything outside it is refused with 403 M_FORBIDDEN naming the field.
 */
import type { RoomPolicySettings } from './policy/room-events.js';
import type { ToDevicePolicySettings } from './policy/to-device.js';

export { MEGOLM, checkMessageEvent, checkStateEvent } from './policy/room-events.js';
export { OLM, checkToDeviceMessage } from './policy/to-device.js';
export { MEGOLM_BACKUP, checkBackupSessions, checkBackupVersion, checkCrossSigningUpload, checkKeysUpload } from './policy/keys.js';

export type PolicySettings = RoomPolicySettings & ToDevicePolicySettings;
