/**
 * What a room may carry, by shape. Message events are Megolm envelopes (with only the relation metadata clients keep
 * in the clear); the short allow-list of clear message events (reactions, redactions, in-room verification) has exact
 * shapes. State has its own shapes (state-events.ts).
 */
import { forbidden } from '../../errors.js';
import { array, base64, boolean, check, deviceId, eventId, identifier, map, object, oneOf, refuse, text, userId, KEY_ID, type Shape } from './shape.js';

export interface RoomPolicySettings {
  /** Accept any message event in the clear: only for running conformance suites. */
  allowPlaintextMessages: boolean;
  /** m.reaction: clients (matrix-js-sdk, the Rust SDK) never encrypt reactions. */
  allowPlaintextReactions: boolean;
  /** m.room.redaction: carries only the id of the redacted event and an optional reason. */
  allowPlaintextRedactions: boolean;
  /** A redaction may give a (bounded) reason in the clear. */
  allowRedactionReasons: boolean;
  /** In-room key verification (device ids, public keys, commitments, MACs), which clients send in the clear. */
  allowInRoomVerification: boolean;
}

export const MEGOLM = 'm.megolm.v1.aes-sha2';

const ONLY_ENCRYPTED = 'This server only relays end-to-end encrypted messages';

// Bounds. An event is at most 64 KiB anyway; these keep each clear field to what a client really sends.
export const MAX_CIPHERTEXT = 65536;
/** Megolm session ids and Curve25519 keys are 43 characters of base64. */
const MAX_KEY = 128;
export const MAX_REACTION_KEY_BYTES = 64;
export const MAX_REDACTION_REASON_BYTES = 512;
/** The fallback text of a verification request (fixed by the client: "… is requesting to verify your key …"). */
const MAX_VERIFICATION_BODY_BYTES = 512;
const MAX_CANCEL_REASON_BYTES = 256;

const ENVELOPE = 'an m.room.encrypted event carries only the Megolm envelope and the relation clients keep in the clear';

/** The relations clients keep outside the ciphertext: threads, replies, edits, references (and encrypted reactions). */
const clearRelation = object(
  {},
  {
    rel_type: oneOf('m.thread', 'm.replace', 'm.reference', 'm.annotation'),
    event_id: eventId,
    is_falling_back: boolean,
    'm.in_reply_to': object({ event_id: eventId }),
  },
);

const megolmEnvelope = object(
  { algorithm: oneOf(MEGOLM), ciphertext: base64(MAX_CIPHERTEXT), session_id: base64(MAX_KEY) },
  { sender_key: base64(MAX_KEY), device_id: deviceId, 'm.relates_to': clearRelation },
);

const reaction = object({
  'm.relates_to': object({ rel_type: oneOf('m.annotation'), event_id: eventId, key: text(MAX_REACTION_KEY_BYTES, undefined, 'a short reaction key') }),
});

// In-room verification (spec: "Key verification framework", in-room variant; what matrix-js-sdk with Rust crypto sends).
const VERIFICATION_METHODS = ['m.sas.v1', 'm.qr_code.scan.v1', 'm.qr_code.show.v1', 'm.reciprocate.v1'];
const SAS_KEY_AGREEMENT = ['curve25519-hkdf-sha256', 'curve25519'];
const SAS_HASHES = ['sha256'];
const SAS_MACS = ['hkdf-hmac-sha256', 'hkdf-hmac-sha256.v2', 'org.matrix.msc3783.hkdf-hmac-sha256', 'hmac-sha256'];
const SAS_METHODS = ['decimal', 'emoji'];

export const methods = array(oneOf(...VERIFICATION_METHODS), VERIFICATION_METHODS.length, 1);
const reference = object({ rel_type: oneOf('m.reference'), event_id: eventId });
const withReference = (fields: Record<string, Shape>, optional: Record<string, Shape> = {}) => object({ ...fields, 'm.relates_to': reference }, optional);

/** The verification steps' own fields; in a room each also carries an m.reference to the request. */
export const verificationFields = {
  ready: { from_device: deviceId, methods },
  sasStart: {
    from_device: deviceId,
    method: oneOf('m.sas.v1'),
    key_agreement_protocols: array(oneOf(...SAS_KEY_AGREEMENT), SAS_KEY_AGREEMENT.length, 1),
    hashes: array(oneOf(...SAS_HASHES), SAS_HASHES.length, 1),
    message_authentication_codes: array(oneOf(...SAS_MACS), SAS_MACS.length, 1),
    short_authentication_string: array(oneOf(...SAS_METHODS), SAS_METHODS.length, 1),
  },
  reciprocateStart: { from_device: deviceId, method: oneOf('m.reciprocate.v1'), secret: base64(MAX_KEY) },
  accept: {
    key_agreement_protocol: oneOf(...SAS_KEY_AGREEMENT),
    hash: oneOf(...SAS_HASHES),
    message_authentication_code: oneOf(...SAS_MACS),
    short_authentication_string: array(oneOf(...SAS_METHODS), SAS_METHODS.length, 1),
    commitment: base64(MAX_KEY),
  },
  acceptOptional: { method: oneOf('m.sas.v1') },
  key: { key: base64(MAX_KEY) },
  mac: { mac: map(KEY_ID, base64(MAX_KEY), 16, 1), keys: base64(MAX_KEY) },
  cancel: { code: identifier, reason: text(MAX_CANCEL_REASON_BYTES, undefined, 'a short reason') },
} satisfies Record<string, Record<string, Shape>>;

/** m.key.verification.start is SAS or QR reciprocation, told apart by `method`. */
export function byStartMethod(sas: Shape, reciprocate: Shape): Shape {
  return (value, at, why) => ((value as { method?: unknown } | null)?.method === 'm.reciprocate.v1' ? reciprocate : sas)(value, at, why);
}

const inRoomVerification: Record<string, Shape> = {
  'm.key.verification.ready': withReference(verificationFields.ready),
  'm.key.verification.start': byStartMethod(withReference(verificationFields.sasStart), withReference(verificationFields.reciprocateStart)),
  'm.key.verification.accept': withReference(verificationFields.accept, verificationFields.acceptOptional),
  'm.key.verification.key': withReference(verificationFields.key),
  'm.key.verification.mac': withReference(verificationFields.mac),
  'm.key.verification.done': withReference({}),
  'm.key.verification.cancel': withReference(verificationFields.cancel),
};

const verificationRequest = object({
  msgtype: oneOf('m.key.verification.request'),
  body: text(MAX_VERIFICATION_BODY_BYTES, undefined, 'a short fallback text'),
  from_device: deviceId,
  methods,
  to: userId,
});

const VERIFICATION = 'in-room verification events carry only device ids, methods, public keys, commitments and MACs';

/**
 * The request an in-room verification step answers (its m.reference), for a step whose shape the policy checks; the
 * write path looks the event up and hands it to checkVerificationRequest.
 */
export function verificationRequestOf(settings: RoomPolicySettings, type: string, content: Record<string, unknown>): string | undefined {
  if (settings.allowPlaintextMessages || !settings.allowInRoomVerification || !Object.hasOwn(inRoomVerification, type)) return undefined;
  return (content['m.relates_to'] as { event_id: string }).event_id;
}

/**
 * Throws 403 M_FORBIDDEN unless `request` is an m.key.verification.request of this room that `sender` is part of
 * (they sent it, or it is to them): a step cannot point anywhere else, nor join someone else's verification.
 */
export function checkVerificationRequest(request: { roomId: string; type: string; sender: string; content: Record<string, unknown> } | undefined, roomId: string, sender: string): void {
  const answers = request !== undefined && request.roomId === roomId && request.type === 'm.room.message' && request.content.msgtype === 'm.key.verification.request';
  if (!answers) refuse('content.m.relates_to.event_id', 'it must name an m.key.verification.request in this room', VERIFICATION);
  if (request.sender !== sender && request.content.to !== sender) refuse('content.m.relates_to.event_id', 'the request is between two other users', VERIFICATION);
}

function redactionShape(settings: RoomPolicySettings): Shape {
  const reason = text(MAX_REDACTION_REASON_BYTES, undefined, 'a short reason');
  const refusedReason: Shape = (_v, at, why) => refuse(at, 'this server does not keep redaction reasons (ALLOW_REDACTION_REASONS=off)', why);
  // v11 names the redacted event in content; v10 at the top level (then content.redacts is absent).
  return object({}, { redacts: eventId, reason: settings.allowRedactionReasons ? reason : refusedReason });
}

/** Throws 403 M_FORBIDDEN unless a message (non-state) event may be sent to a room. */
export function checkMessageEvent(settings: RoomPolicySettings, type: string, content: Record<string, unknown>): void {
  if (type === 'm.room.encrypted') {
    if (content.algorithm !== MEGOLM) {
      throw forbidden(`${ONLY_ENCRYPTED}: room messages must use ${MEGOLM} (got ${JSON.stringify(content.algorithm ?? null).slice(0, 64)}).`);
    }
    return check(megolmEnvelope, content, 'content', ENVELOPE);
  }
  if (settings.allowPlaintextMessages) return;
  if (type === 'm.reaction' && settings.allowPlaintextReactions) {
    return check(reaction, content, 'content', 'an unencrypted m.reaction may only carry an m.annotation relation with a short key');
  }
  if (type === 'm.room.redaction' && settings.allowPlaintextRedactions) {
    return check(redactionShape(settings), content, 'content', 'an m.room.redaction carries only the redacted event id and an optional short reason');
  }
  if (settings.allowInRoomVerification) {
    if (type === 'm.room.message' && content.msgtype === 'm.key.verification.request') return check(verificationRequest, content, 'content', VERIFICATION);
    const step = Object.hasOwn(inRoomVerification, type) ? inRoomVerification[type] : undefined;
    if (step) return check(step, content, 'content', VERIFICATION);
  }
  throw forbidden(`${ONLY_ENCRYPTED}: ${type.slice(0, 255)} must be sent as m.room.encrypted (encrypt it on your device).`);
}
