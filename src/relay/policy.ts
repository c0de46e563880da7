/**
 * The encrypted-only policy: what a room may carry in the clear. Message events must be Megolm ciphertext;
 * a short allow-list (redactions, reactions) can each be switched off; state needed to run a room is allowed.
 */
import { isDeepStrictEqual } from 'node:util';
import { forbidden } from '../errors.js';

export interface PolicySettings {
  /** Accept any message event in the clear: only for running conformance suites. */
  allowPlaintextMessages: boolean;
  /** m.reaction: clients (matrix-js-sdk, the Rust SDK) never encrypt reactions. */
  allowPlaintextReactions: boolean;
  /** m.room.redaction: carries only the id of the redacted event and an optional reason. */
  allowPlaintextRedactions: boolean;
  /** Refuse room names, topics and avatars, which are state and so sent in the clear. */
  refusePlaintextRoomMetadata: boolean;
}

export const MEGOLM = 'm.megolm.v1.aes-sha2';

const ONLY_ENCRYPTED = 'This server only relays end-to-end encrypted messages';

const ROOM_METADATA = new Set(['m.room.name', 'm.room.topic', 'm.room.avatar']);

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** A well-formed Megolm m.room.encrypted content; m.relates_to may stay in the clear (edits, threads, replies). */
function checkMegolmContent(content: Record<string, unknown>): void {
  if (content.algorithm !== MEGOLM) {
    throw forbidden(`${ONLY_ENCRYPTED}: room messages must use ${MEGOLM} (got ${JSON.stringify(content.algorithm ?? null)}).`);
  }
  if (!isNonEmptyString(content.ciphertext)) throw forbidden(`${ONLY_ENCRYPTED}: m.room.encrypted needs a ciphertext string.`);
  if (!isNonEmptyString(content.session_id)) throw forbidden(`${ONLY_ENCRYPTED}: m.room.encrypted needs a session_id.`);
  for (const key of ['sender_key', 'device_id'] as const) {
    if (content[key] !== undefined && typeof content[key] !== 'string') throw forbidden(`${ONLY_ENCRYPTED}: ${key} must be a string.`);
  }
}

/** A reaction is only an annotation: no other content may ride along in the clear. */
function checkReactionContent(content: Record<string, unknown>): void {
  const rel = content['m.relates_to'] as Record<string, unknown> | undefined;
  const extra = Object.keys(content).filter((k) => k !== 'm.relates_to');
  if (!rel || rel.rel_type !== 'm.annotation' || !isNonEmptyString(rel.event_id) || !isNonEmptyString(rel.key) || extra.length > 0) {
    throw forbidden(`${ONLY_ENCRYPTED}: an unencrypted m.reaction may only carry an m.annotation relation.`);
  }
}

/** Throws 403 M_FORBIDDEN unless a message (non-state) event may be sent to a room. */
export function checkMessageEvent(settings: PolicySettings, type: string, content: Record<string, unknown>): void {
  if (type === 'm.room.encrypted') return checkMegolmContent(content);
  if (settings.allowPlaintextMessages) return;
  if (type === 'm.reaction' && settings.allowPlaintextReactions) return checkReactionContent(content);
  if (type === 'm.room.redaction' && settings.allowPlaintextRedactions) return;
  throw forbidden(`${ONLY_ENCRYPTED}: ${type} must be sent as m.room.encrypted (encrypt it on your device).`);
}

/**
 * Throws 403 M_FORBIDDEN unless a state event may be set. `current` is the room's current content for this
 * type and state key, if any: encryption, once on, stays on with Megolm.
 */
export function checkStateEvent(settings: PolicySettings, type: string, content: Record<string, unknown>, current: Record<string, unknown> | undefined): void {
  // Only room creation writes it: a client's m.room.create could otherwise re-found a room whose state was purged.
  if (type === 'm.room.create') throw forbidden('m.room.create is written by the server when a room is created; it cannot be sent.');
  if (type === 'm.room.encryption') {
    if (content.algorithm !== MEGOLM) throw forbidden(`Every room on this server is encrypted with ${MEGOLM}; another algorithm cannot be set.`);
    if (current && !isDeepStrictEqual(current, content)) {
      throw forbidden('The encryption settings of a room cannot be changed once set.');
    }
    return;
  }
  if (ROOM_METADATA.has(type) && settings.refusePlaintextRoomMetadata) {
    throw forbidden(`This server does not store room names, topics or avatars in the clear (${type} refused).`);
  }
}
