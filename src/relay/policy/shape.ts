/**
 * The policy's shape toolkit: small checks that compose into the exact shape of what the server may relay in the
 * clear. Everything outside a shape is refused with 403 M_FORBIDDEN, and the error names the field (its path from
 * the top of what was sent) and the rule, so that a client developer sees at once what the server will not relay.
 */
import { forbidden } from '../../errors.js';
import { MAX_ID_BYTES, isDeviceId, isRoomAlias, isRoomId, isServerName, isUserId } from '../../lib/identifiers.js';

/** A rule for a string: a regular expression, or an identifier grammar from lib/identifiers.ts as `{ test: isUserId }`. */
export type StringRule = { test(s: string): boolean };

/** Checks `value` found at `at` (e.g. `content.m.relates_to.key`); `why` is the rule of the whole shape. */
export type Shape = (value: unknown, at: string, why: string) => void;

export function refuse(at: string, problem: string, why: string): never {
  throw forbidden(`This server will not relay ${at} in the clear: ${problem} (${why}).`);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A key chosen by the client, made safe to quote in an error. */
const quoted = (key: string) => (/^[A-Za-z0-9_.:@$!*+/=-]{1,64}$/.test(key) ? key : JSON.stringify(key.slice(0, 32)));

/** An object with exactly these keys: `required` must be there, `optional` may be, nothing else may. */
export function object(required: Record<string, Shape>, optional: Record<string, Shape> = {}): Shape {
  return (value, at, why) => {
    if (!isPlainObject(value)) refuse(at, 'it must be an object', why);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) refuse(`${at}.${quoted(key)}`, 'this field is not allowed', why);
    }
    for (const [key, shape] of Object.entries(required)) {
      if (value[key] === undefined) refuse(`${at}.${key}`, 'this field is required', why);
      shape(value[key], `${at}.${key}`, why);
    }
    for (const [key, shape] of Object.entries(optional)) if (value[key] !== undefined) shape(value[key], `${at}.${key}`, why);
  };
}

/** A string of at most `maxBytes` UTF-8 bytes (at least one character), matching `pattern` if given. */
export function text(maxBytes: number, pattern?: StringRule, what = 'a short string'): Shape {
  return (value, at, why) => {
    if (typeof value !== 'string' || value.length === 0) refuse(at, `it must be ${what}`, why);
    if (Buffer.byteLength(value) > maxBytes) refuse(at, `it is longer than ${maxBytes} bytes`, why);
    if (pattern && !pattern.test(value)) refuse(at, `it must be ${what}`, why);
  };
}

/**
 * Base64 as Matrix encodes keys, signatures, MACs and ciphertext: unpadded standard (padded or URL-safe accepted, as
 * lenient decoders do, but not both alphabets in one value). The alphabet keeps sentences out (no spaces or
 * punctuation), and the length must be one an encoder can produce: unpadded, length mod 4 is never 1; padded, the
 * whole is a multiple of 4 with one or two `=`. Every base64 check of the policy goes through here; the length is
 * bounded by each field's shape.
 */
const BASE64_ALPHABET = /^[A-Za-z0-9+/_-]+={0,2}$/;
export function isBase64(s: string): boolean {
  if (!BASE64_ALPHABET.test(s)) return false;
  if (/[+/]/.test(s) && /[_-]/.test(s)) return false;
  const unpadded = s.replace(/=+$/, '');
  const pad = s.length - unpadded.length;
  if (pad === 0) return unpadded.length % 4 !== 1;
  return s.length % 4 === 0 && unpadded.length % 4 === 4 - pad;
}
export const BASE64: StringRule = { test: isBase64 };
/** Base64 of at most `maxChars` characters, as a rule for map keys (Curve25519 keys, Megolm session ids). */
export const base64Key = (maxChars: number): StringRule => ({ test: (s) => s.length <= maxChars && isBase64(s) });

export function base64(maxChars: number): Shape {
  return text(maxChars, BASE64, 'base64');
}

/** A string of at most `maxBytes` UTF-8 bytes that may be empty (a name or topic being cleared). */
export function string(maxBytes: number): Shape {
  return (value, at, why) => {
    if (typeof value !== 'string') refuse(at, 'it must be a string', why);
    if (Buffer.byteLength(value) > maxBytes) refuse(at, `it is longer than ${maxBytes} bytes`, why);
  };
}

/** `shape`, or null. */
export function nullable(shape: Shape): Shape {
  return (value, at, why) => (value === null ? undefined : shape(value, at, why));
}

/** Any JSON value of at most `maxBytes` bytes as JSON: content whose shape the server does not know, bounded. */
export function jsonOfAtMost(maxBytes: number): Shape {
  return (value, at, why) => {
    const size = Buffer.byteLength(JSON.stringify(value) ?? '');
    if (size > maxBytes) refuse(at, `it is ${size} bytes of JSON, more than the ${maxBytes} this server keeps of it`, why);
  };
}

export const number: Shape = (value, at, why) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse(at, 'it must be a number', why);
};

/** One of a fixed list of values (a spec enum, a known algorithm). */
export function oneOf(...values: (string | number | boolean)[]): Shape {
  return (value, at, why) => {
    if (!values.includes(value as never)) refuse(at, `it must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, why);
  };
}

export function array(item: Shape, max: number, min = 0): Shape {
  return (value, at, why) => {
    if (!Array.isArray(value)) refuse(at, 'it must be an array', why);
    if (value.length < min || value.length > max) refuse(at, `it must have ${min} to ${max} entries`, why);
    value.forEach((v, i) => item(v, `${at}[${i}]`, why));
  };
}

/** An object used as a map: at most `max` entries (at least `min`), keys matching `key`, values of one shape. */
export function map(key: StringRule, item: Shape, max: number, min = 0): Shape {
  return (value, at, why) => {
    if (!isPlainObject(value)) refuse(at, 'it must be an object', why);
    const keys = Object.keys(value);
    if (keys.length < min || keys.length > max) refuse(at, `it must have ${min} to ${max} entries`, why);
    for (const k of keys) {
      if (!key.test(k)) refuse(`${at}.${quoted(k)}`, 'this key is not well-formed', why);
      item(value[k], `${at}.${quoted(k)}`, why);
    }
  };
}

export const boolean: Shape = (value, at, why) => {
  if (typeof value !== 'boolean') refuse(at, 'it must be true or false', why);
};

export function integer(min: number, max: number): Shape {
  return (value, at, why) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) refuse(at, `it must be an integer from ${min} to ${max}`, why);
  };
}

/** Runs a shape on a top-level value (`at` names it: `content`, `session_data`, ...). */
export function check(shape: Shape, value: unknown, at: string, why: string): void {
  shape(value, at, why);
}

// Identifiers, as this server issues them or the spec defines them.
/**
 * Event ids as this server makes them (rooms/events.ts newEventId): `$` and 43 characters of unpadded base64 (url-safe
 * from room version 4, standard in v3), or `$` and 18 characters then `:server` (v1 and v2). No spaces or punctuation,
 * and a fixed length: an id cannot carry a sentence.
 */
export const eventId = text(300, /^\$(?:[A-Za-z0-9+/_-]{43}|[A-Za-z0-9_-]{18}:[A-Za-z0-9.:[\]-]{1,255})$/, 'an event id');
/** User, room and device ids: the grammar of lib/identifiers.ts. */
export const USER_ID: StringRule = { test: isUserId };
export const ROOM_ID: StringRule = { test: isRoomId };
export const userId = text(MAX_ID_BYTES, USER_ID, 'a user id');
export const roomAlias = text(MAX_ID_BYTES, { test: isRoomAlias }, 'a room alias');
export const serverName = text(MAX_ID_BYTES, { test: isServerName }, 'a server name');
/** Media URIs (`mxc://server/id`), as profiles hold them. */
export const MXC = /^mxc:\/\/[A-Za-z0-9.:\-[\]]{1,255}\/[A-Za-z0-9_-]{1,255}$/;
export const mxc = text(600, MXC, 'an mxc:// URI');
export const roomId = text(MAX_ID_BYTES, ROOM_ID, 'a room id');
export const deviceId = text(MAX_ID_BYTES, { test: isDeviceId }, 'a device id');
/** A namespaced identifier (an algorithm, a method, a code, a secret name). */
export const identifier = text(255, /^[A-Za-z0-9._-]+$/, 'an identifier');
/** A key id: `algorithm:name` (name: a device id or an unpadded base64 public key). */
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}:[\x21-\x7e]{1,255}$/;
/** Signatures: `{user id: {key id: base64 signature}}`, as on keys. */
export const signatures = map(USER_ID, map(KEY_ID, base64(128), 32, 1), 16);
