/**
 * The blindness policy: the allow-list of shapes the server relays or keeps in the clear. Room events
 * (policy/room-events.ts), room state (policy/state-events.ts), account data (policy/account-data.ts), to-device
 * messages (policy/to-device.ts) and uploaded keys and key backups (policy/keys.ts) are each checked against an exact
 * shape (policy/shape.ts); anything outside it is refused with 403 M_FORBIDDEN naming the field.
 */
import type { RoomPolicySettings } from './policy/room-events.js';
import type { ToDevicePolicySettings } from './policy/to-device.js';
import type { StatePolicySettings } from './policy/state-events.js';
import type { AccountDataPolicySettings } from './policy/account-data.js';

export { MEGOLM, checkMessageEvent, checkVerificationRequest, verificationRequestOf } from './policy/room-events.js';
export { checkCreationContent, checkStateEvent } from './policy/state-events.js';
export { checkAccountData, checkTagData } from './policy/account-data.js';
export { OLM, checkToDeviceMessage } from './policy/to-device.js';
export { MEGOLM_BACKUP, checkBackupSessions, checkBackupVersion, checkCrossSigningUpload, checkKeysUpload } from './policy/keys.js';

export type PolicySettings = RoomPolicySettings & StatePolicySettings & ToDevicePolicySettings & AccountDataPolicySettings;
