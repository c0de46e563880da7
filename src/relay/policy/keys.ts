/**
 * What the server keeps of users' keys: public keys, signatures and backup ciphertext, each exactly in the shape the
 * spec defines, so that no upload can park anything else (a note, a private key in the clear) next to them.
 */
import { forbidden } from '../../errors.js';
import { array, base64, base64Key, boolean, check, deviceId, identifier, map, object, oneOf, signatures, userId, KEY_ID, ROOM_ID, type Shape } from './shape.js';

export const MEGOLM_BACKUP = 'm.megolm_backup.v1.curve25519-aes-sha2';

/** Public keys and signatures are 43 and 86 characters of base64; a backed-up session is about a kilobyte. */
const MAX_KEY = 128;
const MAX_BACKUP_CIPHERTEXT = 65536;

const deviceKeys = object(
  {
    user_id: userId,
    device_id: deviceId,
    algorithms: array(identifier, 16, 1),
    keys: map(KEY_ID, base64(MAX_KEY), 16, 1),
    signatures,
  },
  // Dehydrated devices (MSC3814) say so in their keys.
  { dehydrated: boolean },
);

/** A one-time or fallback key: signed (`{key, signatures}`), or a bare key of the older unsigned algorithm. */
function keyShape(fallback: boolean): Shape {
  const signed = object({ key: base64(MAX_KEY), signatures }, fallback ? { fallback: boolean } : {});
  return (value, at, why) => (typeof value === 'string' ? base64(MAX_KEY) : signed)(value, at, why);
}
const oneTimeKeys = map(KEY_ID, keyShape(false), 200);
const fallbackKeys = map(KEY_ID, keyShape(true), 16);

const crossSigningKey = object(
  { user_id: userId, usage: array(oneOf('master', 'self_signing', 'user_signing'), 3, 1), keys: map(KEY_ID, base64(MAX_KEY), 1, 1) },
  { signatures },
);

const KEYS = 'uploaded keys carry only the fields the spec defines, with base64 keys and signatures';

export function checkKeysUpload(body: { device_keys?: unknown; one_time_keys?: unknown; fallback_keys?: unknown }): void {
  if (body.device_keys !== undefined) check(deviceKeys, body.device_keys, 'device_keys', KEYS);
  if (body.one_time_keys !== undefined) check(oneTimeKeys, body.one_time_keys, 'one_time_keys', KEYS);
  if (body.fallback_keys !== undefined) check(fallbackKeys, body.fallback_keys, 'fallback_keys', KEYS);
}

export function checkCrossSigningUpload(keys: Record<string, unknown>): void {
  for (const [field, key] of Object.entries(keys)) if (key !== undefined) check(crossSigningKey, key, field, KEYS);
}

const BACKUP = `a key backup holds only ${MEGOLM_BACKUP} public data and ciphertext`;

const backupAuthData = object({ public_key: base64(MAX_KEY) }, { signatures });
const backupSessionData = object({ ephemeral: base64(MAX_KEY), ciphertext: base64(MAX_BACKUP_CIPHERTEXT), mac: base64(MAX_KEY) });

/** A backup version's algorithm and public auth_data: only the algorithm whose shape the server knows. */
export function checkBackupVersion(algorithm: string, authData: unknown): void {
  if (algorithm !== MEGOLM_BACKUP) throw forbidden(`This server will not relay algorithm ${JSON.stringify(algorithm.slice(0, 64))} key backups: only ${MEGOLM_BACKUP}, whose data it can check is ciphertext.`);
  check(backupAuthData, authData, 'auth_data', BACKUP);
}

const SESSION_ID = base64Key(MAX_KEY);

/**
 * Backed-up sessions by room id and session id: each `session_data` is exactly the ciphertext, its MAC and the
 * ephemeral key; room and session ids are well-formed.
 */
export function checkBackupSessions(rooms: Record<string, Record<string, { session_data: unknown }>>): void {
  for (const [roomId, sessions] of Object.entries(rooms)) {
    if (!ROOM_ID.test(roomId)) throw forbidden(`This server will not relay a key backup for room ${JSON.stringify(roomId.slice(0, 64))}: not a room id.`);
    for (const [sessionId, data] of Object.entries(sessions)) {
      if (!SESSION_ID.test(sessionId)) throw forbidden(`This server will not relay a key backup for session ${JSON.stringify(sessionId.slice(0, 64))}: a Megolm session id is base64.`);
      check(backupSessionData, data.session_data, `rooms.${roomId}.sessions.${sessionId}.session_data`, BACKUP);
    }
  }
}
