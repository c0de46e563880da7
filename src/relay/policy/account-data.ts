/**
 * What account data may hold, by shape. Account data is a user's settings kept on the server, read back by their
 * own devices only, and the largest place beside ciphertext where a client could park text. So:
 * - the secrets of secret storage (cross-signing keys, the backup key, and any other `{encrypted: ...}` secret) are
 *   exactly the encrypted envelope `{encrypted: {keyId: {iv, ciphertext, mac}}}`, whatever their type, and the
 *   secret-storage key descriptions exactly theirs;
 * - the spec's types (m.direct, m.ignored_user_list, m.tag, m.marked_unread, ...) have their exact shapes;
 * - types outside the spec (Element's im.vector.* and io.element.* settings, other clients' settings) have no shape
 *   the server could know: kept up to MAX_CUSTOM_ACCOUNT_DATA_BYTES, refused altogether with
 *   ALLOW_CUSTOM_ACCOUNT_DATA=off.
 * Empty content (`{}`) is how clients clear a type (matrix-js-sdk deletes secrets so) and always passes.
 */
import { forbidden } from '../../errors.js';
import { array, base64, boolean, check, integer, jsonOfAtMost, map, nullable, number, object, oneOf, roomId, string, text, USER_ID, type Shape } from './shape.js';

export interface AccountDataPolicySettings {
  /** Keep account data of types outside the spec (up to MAX_CUSTOM_ACCOUNT_DATA_BYTES each). */
  allowCustomAccountData: boolean;
}

/** Element's settings, breadcrumbs and recent emoji are each a few KiB at most. */
export const MAX_CUSTOM_ACCOUNT_DATA_BYTES = 16384;

/** Secret-storage key ids: random strings the client makes (32 letters and digits in matrix-js-sdk and the Rust SDK). */
const KEY_ID = /^[A-Za-z0-9._+/=-]{1,255}$/;
const keyId = text(255, KEY_ID, 'a secret-storage key id');
const MAX_SECRET_CIPHERTEXT = 65536;

/** A secret in secret storage (m.secret_storage.v1.aes-hmac-sha2): encrypted under one or more keys. */
const encryptedSecret = object({ encrypted: map(KEY_ID, object({ iv: base64(64), ciphertext: base64(MAX_SECRET_CIPHERTEXT), mac: base64(128) }), 8, 1) });

const secretStorageKey = object(
  { algorithm: oneOf('m.secret_storage.v1.aes-hmac-sha2') },
  {
    // The user may name their recovery key; clients offer no text field for it today.
    name: string(255),
    iv: base64(64),
    mac: base64(128),
    passphrase: object({ algorithm: oneOf('m.pbkdf2'), salt: text(255, /^[\x21-\x7e]+$/, 'a salt'), iterations: integer(1, 100_000_000) }, { bits: integer(1, 4096) }),
  },
);

/** Tag names: the user's own labels (at most 255 bytes), with an optional order. */
const tags = object({ tags: map({ test: (s: string) => s.length > 0 && Buffer.byteLength(s) <= 255 }, object({}, { order: number }), 1000) });
const markedUnread = object({ unread: boolean });

const GLOBAL: Record<string, Shape> = {
  'm.direct': map(USER_ID, array(roomId, 1000), 10_000),
  'm.ignored_user_list': object({ ignored_users: map(USER_ID, object({}), 10_000) }),
  'm.identity_server': object({}, { base_url: nullable(string(1024)) }),
  'm.accepted_terms': object({ accepted: array(text(1024), 100) }),
  'm.secret_storage.default_key': object({ key: keyId }),
  'm.key_backup': object({ enabled: boolean }),
  'm.recent_emoji': object({ recent_emoji: array(object({ emoji: text(64), total: integer(0, 2 ** 53 - 1) }), 100) }),
};
const ROOM: Record<string, Shape> = {
  'm.tag': tags,
  'm.marked_unread': markedUnread,
  // MSC2867's unstable name, which Element and the Rust SDK write beside the stable one.
  'com.famedly.marked_unread': markedUnread,
};
/** Secrets that must be in secret storage: never in the clear. */
const SECRETS = new Set(['m.cross_signing.master', 'm.cross_signing.self_signing', 'm.cross_signing.user_signing', 'm.megolm_backup.v1']);
const SECRET_STORAGE_KEY = 'm.secret_storage.key.';

const WHY = 'account data of the types the spec defines carries only their fields';
const SECRET_WHY = 'a secret in secret storage is only its encrypted envelope';
const CUSTOM_WHY = `account data of a type outside the spec is kept up to ${MAX_CUSTOM_ACCOUNT_DATA_BYTES} bytes`;

const isEmpty = (content: Record<string, unknown>) => Object.keys(content).length === 0;

/** Throws 403 M_FORBIDDEN unless `content` may be kept as the user's account data `type` (global, or of one room). */
export function checkAccountData(settings: AccountDataPolicySettings, type: string, content: Record<string, unknown>, inRoom: boolean): void {
  if (isEmpty(content)) return;
  if (SECRETS.has(type) || Object.hasOwn(content, 'encrypted')) return check(encryptedSecret, content, 'content', SECRET_WHY);
  if (type.startsWith(SECRET_STORAGE_KEY)) {
    if (!KEY_ID.test(type.slice(SECRET_STORAGE_KEY.length))) throw forbidden(`This server will not keep ${type.slice(0, 255)}: the key id is not well-formed.`);
    return check(secretStorageKey, content, 'content', WHY);
  }
  const known = inRoom ? ROOM : GLOBAL;
  const shape = Object.hasOwn(known, type) ? known[type] : undefined;
  if (shape) return check(shape, content, 'content', WHY);
  if (!settings.allowCustomAccountData) {
    throw forbidden(`This server will not keep account data of type ${type.slice(0, 255)}: only the types the spec defines (ALLOW_CUSTOM_ACCOUNT_DATA is off).`);
  }
  check(jsonOfAtMost(MAX_CUSTOM_ACCOUNT_DATA_BYTES), content, 'content', CUSTOM_WHY);
}

/** The data of one room tag (PUT .../tags/{tag}): only its order. */
export function checkTagData(data: Record<string, unknown>): void {
  check(object({}, { order: number }), data, 'content', 'a room tag carries only its order');
}
