/**
 * What room state may carry, by shape. State is in the clear by nature (the server runs the room with it), so each
 * state type of the spec has its exact shape here, with every string bounded: nothing rides along next to a join
 * rule or a power level. State types outside the spec (widgets, Element Call memberships, a bot's settings) have no
 * shape the server could know: they are kept only up to MAX_CUSTOM_STATE_BYTES, and refused altogether with
 * ALLOW_CUSTOM_STATE=off. Message types are never state. Encryption, once on, stays on with Megolm.
 */
import { isDeepStrictEqual } from 'node:util';
import { forbidden } from '../../errors.js';
import {
  array, base64, boolean, check, eventId, integer, jsonOfAtMost, map, mxc, nullable, number, object, oneOf, roomId,
  serverName, signatures, string, text, userId, USER_ID, type Shape,
} from './shape.js';
import { MEGOLM } from './room-events.js';

export interface StatePolicySettings {
  /** Refuse room names, topics and avatars, which are state and so sent in the clear. */
  refusePlaintextRoomMetadata: boolean;
  /** Keep state of types outside the spec (up to MAX_CUSTOM_STATE_BYTES each). */
  allowCustomState: boolean;
}

/** A custom state event's content, as JSON: a widget or an Element Call membership is well under 2 KiB. */
export const MAX_CUSTOM_STATE_BYTES = 4096;
/** Spec: a room name is at most 255 bytes. */
const MAX_NAME_BYTES = 255;
const MAX_TOPIC_BYTES = 4096;
/** Profiles bound display names to 256 characters (at most 1024 bytes). */
const MAX_DISPLAYNAME_BYTES = 1024;
const MAX_REASON_BYTES = 512;
const MAX_URL_BYTES = 1024;

const integerLevel = integer(-(2 ** 53) + 1, 2 ** 53 - 1);
/** A power level: an integer; before room version 10 also a string of digits ("50"), as the auth rules read it. */
const level: Shape = (value, at, why) => (typeof value === 'string' ? text(17, /^[+-]?[0-9]{1,16}$/, 'an integer')(value, at, why) : integerLevel(value, at, why));
const EVENT_TYPE = { test: (s: string) => s.length > 0 && Buffer.byteLength(s) <= 255 };
/** Rust and JS clients add a BlurHash of the image (MSC2448) next to avatars. */
const blurhash = text(128, /^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]+$/, 'a BlurHash');
const thumbnailInfo = object({}, { h: integer(0, 1e6), w: integer(0, 1e6), size: integer(0, 2 ** 53 - 1), mimetype: text(255, undefined, 'a media type') });
const imageInfo = object({}, {
  h: integer(0, 1e6), w: integer(0, 1e6), size: integer(0, 2 ** 53 - 1), mimetype: text(255, undefined, 'a media type'),
  thumbnail_url: mxc, thumbnail_info: thumbnailInfo, 'xyz.amorgan.blurhash': blurhash,
});
/** An avatar URL: an mxc:// URI, or empty (how clients remove one). */
const avatarUrl: Shape = (value, at, why) => (value === '' ? undefined : mxc(value, at, why));
const via = array(serverName, 50);
/** A field whose values another rule of the write path checks (with its own errors). */
const checkedElsewhere: Shape = () => undefined;

const STATE: Record<string, Shape> = {
  'm.room.member': object(
    { membership: oneOf('invite', 'join', 'knock', 'leave', 'ban') },
    {
      displayname: nullable(string(MAX_DISPLAYNAME_BYTES)),
      avatar_url: nullable(avatarUrl),
      'xyz.amorgan.blurhash': blurhash,
      is_direct: boolean,
      reason: string(MAX_REASON_BYTES),
      join_authorised_via_users_server: userId,
      third_party_invite: object({ display_name: text(MAX_NAME_BYTES), signed: object({ mxid: userId, token: text(255), signatures }) }),
    },
  ),
  'm.room.power_levels': object({}, {
    ban: level, invite: level, kick: level, redact: level, state_default: level, events_default: level, users_default: level, historical: level,
    events: map(EVENT_TYPE, level, 500),
    users: map(USER_ID, level, 10_000),
    notifications: map(/^[A-Za-z0-9._-]{1,255}$/, level, 16),
  }),
  'm.room.join_rules': object(
    { join_rule: oneOf('public', 'knock', 'invite', 'private', 'restricted', 'knock_restricted') },
    { allow: array(object({ type: oneOf('m.room_membership') }, { room_id: roomId }), 50) },
  ),
  'm.room.history_visibility': object({ history_visibility: oneOf('invited', 'joined', 'shared', 'world_readable') }),
  // Anything but can_join (even a missing or misspelt value) keeps guests out: the authorization rules read it so.
  'm.room.guest_access': object({}, { guest_access: text(32, /^[A-Za-z0-9._-]+$/, 'a guest access value') }),
  'm.room.encryption': object({ algorithm: oneOf(MEGOLM) }, { rotation_period_ms: integer(0, 2 ** 53 - 1), rotation_period_msgs: integer(0, 2 ** 53 - 1) }),
  'm.room.name': object({}, { name: string(MAX_NAME_BYTES) }),
  'm.room.topic': object({}, {
    topic: string(MAX_TOPIC_BYTES),
    'm.topic': object({}, { 'm.text': array(object({ body: string(MAX_TOPIC_BYTES) }, { mimetype: text(255, undefined, 'a media type') }), 4) }),
  }),
  // A URL that is not mxc:// is left out of the directory (directory/public-rooms.ts); here it is only bounded.
  'm.room.avatar': object({}, { url: string(MAX_URL_BYTES), info: imageInfo }),
  // The aliases themselves are checked by rooms/aliases.ts (400 M_INVALID_PARAM, M_BAD_ALIAS: they must point here).
  'm.room.canonical_alias': object({}, { alias: checkedElsewhere, alt_aliases: checkedElsewhere }),
  'm.room.pinned_events': object({}, { pinned: array(eventId, 1000) }),
  'm.room.server_acl': object({}, { allow: array(text(255), 1000), deny: array(text(255), 1000), allow_ip_literals: boolean }),
  'm.room.tombstone': object({ replacement_room: roomId }, { body: string(MAX_REASON_BYTES) }),
  'm.room.third_party_invite': object(
    { display_name: text(MAX_NAME_BYTES), key_validity_url: text(MAX_URL_BYTES), public_key: base64(128) },
    { public_keys: array(object({ public_key: base64(128) }, { key_validity_url: text(MAX_URL_BYTES) }), 8) },
  ),
  'm.room.policy': object({ via: serverName, public_keys: map(/^[A-Za-z0-9._-]{1,64}$/, base64(128), 4, 1) }),
  'm.space.child': object({}, { via, order: text(50, /^[\x20-\x7e]+$/, 'printable ASCII'), suggested: boolean }),
  'm.space.parent': object({}, { via, canonical: boolean }),
  'm.policy.rule.user': object({}, { entity: text(255), reason: string(MAX_REASON_BYTES), recommendation: text(255) }),
  'm.policy.rule.room': object({}, { entity: text(255), reason: string(MAX_REASON_BYTES), recommendation: text(255) }),
  'm.policy.rule.server': object({}, { entity: text(255), reason: string(MAX_REASON_BYTES), recommendation: text(255) }),
  // This server's own (relay/retention.ts checks the values).
  'm.room.retention': object({}, { max_lifetime: number, min_lifetime: number }),
};

/** Types the spec defines as message events: what they carry is what users say, never state. */
const NEVER_STATE = new Set(['m.room.message', 'm.room.encrypted', 'm.sticker', 'm.reaction', 'm.room.redaction']);

const ROOM_METADATA = new Set(['m.room.name', 'm.room.topic', 'm.room.avatar']);

const STATE_WHY = 'room state carries only the fields the spec defines for its type';
const CUSTOM_WHY = `state of a type outside the spec is kept up to ${MAX_CUSTOM_STATE_BYTES} bytes`;

/** The content of m.room.create a client may choose at room creation (the rest the server writes). */
const creationContent = object({}, {
  type: text(255, /^[A-Za-z0-9._-]+$/, 'a room type'),
  'm.federate': boolean,
  predecessor: object({ room_id: roomId }, { event_id: eventId }),
  additional_creators: array(userId, 50),
  // Written by the server whatever the client says.
  room_version: text(32),
  creator: userId,
});

/** Throws 403 M_FORBIDDEN unless `creation_content` of POST /createRoom carries only what m.room.create defines. */
export function checkCreationContent(content: Record<string, unknown>): void {
  check(creationContent, content, 'creation_content', 'm.room.create carries only the room type, m.federate and the predecessor');
}

/**
 * Throws 403 M_FORBIDDEN unless a state event may be set. `current` is the room's current content for this
 * type and state key, if any: encryption, once on, stays on with Megolm.
 */
export function checkStateEvent(settings: StatePolicySettings, type: string, content: Record<string, unknown>, current: Record<string, unknown> | undefined): void {
  // Only room creation writes it: a client's m.room.create could otherwise re-found a room whose state was purged.
  if (type === 'm.room.create') throw forbidden('m.room.create is written by the server when a room is created; it cannot be sent.');
  if (NEVER_STATE.has(type) || type.startsWith('m.key.verification.')) throw forbidden(`${type} is a message event, never room state: this server will not keep it as state.`);
  if (type === 'm.room.encryption') {
    if (content.algorithm !== MEGOLM) throw forbidden(`Every room on this server is encrypted with ${MEGOLM}; another algorithm cannot be set.`);
    if (current && !isDeepStrictEqual(current, content)) {
      throw forbidden('The encryption settings of a room cannot be changed once set.');
    }
  }
  if (ROOM_METADATA.has(type) && settings.refusePlaintextRoomMetadata) {
    throw forbidden(`This server does not store room names, topics or avatars in the clear (${type} refused).`);
  }
  const shape = Object.hasOwn(STATE, type) ? STATE[type] : undefined;
  if (shape) return check(shape, content, 'content', STATE_WHY);
  if (!settings.allowCustomState) {
    throw forbidden(`This server will not keep state of type ${type.slice(0, 255)} in the clear: only the room state the spec defines (ALLOW_CUSTOM_STATE is off).`);
  }
  check(jsonOfAtMost(MAX_CUSTOM_STATE_BYTES), content, 'content', CUSTOM_WHY);
}
