/**
 * What a to-device message may carry. Anything that holds keys or secrets (room keys, forwarded keys, secrets,
 * messages) travels Olm-encrypted: an m.room.encrypted envelope whose ciphertext map is keyed by the recipients'
 * Curve25519 keys. The few types clients send in the clear (verification, key and secret requests, withheld
 * notices, m.dummy) have exact shapes; other clear types are refused unless ALLOW_PLAINTEXT_TO_DEVICE is on.
 */
import { forbidden } from '../../errors.js';
import { MAX_ID_BYTES } from '../../lib/identifiers.js';
import { base64, base64Key, check, deviceId, identifier, integer, map, object, oneOf, roomId, text, type Shape } from './shape.js';
import { byStartMethod, methods, verificationFields } from './room-events.js';

export interface ToDevicePolicySettings {
  /** Clear to-device types outside the allow-list (never those that carry keys or secrets). */
  allowPlaintextToDevice: boolean;
}

export const OLM = 'm.olm.v1.curve25519-aes-sha2';

/** Types that carry keys, secrets or what users say: relayed only inside Olm, whatever the settings. */
const SECRET_TYPES = new Set(['m.room_key', 'm.forwarded_room_key', 'm.secret.send', 'm.room.message', 'm.room_key_bundle']);

const MAX_OLM_BODY = 65536;
const MAX_KEY = 128;
const MAX_WITHHELD_REASON_BYTES = 256;

/** Rust crypto adds a random id to every message it sends, for tracing (`org.matrix.msgid`). */
const withMsgid = (fields: Record<string, Shape>, optional: Record<string, Shape> = {}) =>
  object(fields, { ...optional, 'org.matrix.msgid': text(64, /^[A-Za-z0-9_+/=-]+$/, 'a message id') });

const CURVE25519_KEY = base64Key(MAX_KEY);

const olmEnvelope = withMsgid({
  algorithm: oneOf(OLM),
  sender_key: base64(MAX_KEY),
  ciphertext: map(CURVE25519_KEY, object({ type: oneOf(0, 1), body: base64(MAX_OLM_BODY) }), 256, 1),
});

const transactionId = { transaction_id: text(MAX_ID_BYTES, /^[\x21-\x7e]+$/, 'a transaction id') };
const requestAction = oneOf('request', 'request_cancellation');
const requestId = text(MAX_ID_BYTES, /^[\x21-\x7e]+$/, 'a request id');

const CLEAR: Record<string, Shape> = {
  'm.key.verification.request': withMsgid({ from_device: deviceId, methods, timestamp: integer(0, Number.MAX_SAFE_INTEGER), ...transactionId }),
  'm.key.verification.ready': withMsgid({ ...verificationFields.ready, ...transactionId }),
  'm.key.verification.start': byStartMethod(
    withMsgid({ ...verificationFields.sasStart, ...transactionId }),
    withMsgid({ ...verificationFields.reciprocateStart, ...transactionId }),
  ),
  'm.key.verification.accept': withMsgid({ ...verificationFields.accept, ...transactionId }, verificationFields.acceptOptional),
  'm.key.verification.key': withMsgid({ ...verificationFields.key, ...transactionId }),
  'm.key.verification.mac': withMsgid({ ...verificationFields.mac, ...transactionId }),
  'm.key.verification.done': withMsgid({ ...transactionId }),
  'm.key.verification.cancel': withMsgid({ ...verificationFields.cancel, ...transactionId }),
  'm.room_key_request': withMsgid(
    { action: requestAction, requesting_device_id: deviceId, request_id: requestId },
    { body: object({ algorithm: identifier, room_id: roomId, session_id: base64(MAX_KEY) }, { sender_key: base64(MAX_KEY) }) },
  ),
  'm.secret.request': withMsgid({ action: requestAction, requesting_device_id: deviceId, request_id: requestId }, { name: identifier }),
  'm.room_key.withheld': withMsgid(
    { algorithm: identifier, code: identifier },
    { room_id: roomId, session_id: base64(MAX_KEY), sender_key: base64(MAX_KEY), from_device: deviceId, reason: text(MAX_WITHHELD_REASON_BYTES, undefined, 'a short reason') },
  ),
  'm.dummy': withMsgid({}),
};

/** Throws 403 M_FORBIDDEN unless `content` may be relayed to a device as an event of `type`. */
export function checkToDeviceMessage(settings: ToDevicePolicySettings, type: string, content: unknown, at: string): void {
  if (type === 'm.room.encrypted') return check(olmEnvelope, content, at, `a to-device m.room.encrypted carries only an ${OLM} envelope`);
  const clear = Object.hasOwn(CLEAR, type) ? CLEAR[type] : undefined;
  if (clear) return check(clear, content, at, `a to-device ${type} in the clear carries only the fields the spec defines`);
  if (SECRET_TYPES.has(type)) {
    throw forbidden(`This server will not relay ${type} in the clear: it carries keys or messages, so it must be sent Olm-encrypted (as m.room.encrypted).`);
  }
  if (!settings.allowPlaintextToDevice) {
    throw forbidden(`This server will not relay ${type.slice(0, 255)} in the clear: to-device messages must be Olm-encrypted (as m.room.encrypted) unless their type is one clients send in the clear (ALLOW_PLAINTEXT_TO_DEVICE is off).`);
  }
}
