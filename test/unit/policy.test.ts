/**
 * The blindness policy, rule by rule: what real clients send passes (the fixtures are what matrix-js-sdk 43 with Rust
 * crypto sent in test/e2e), and every extra key, wrong type, non-base64 value or oversized field is refused with
 * 403 M_FORBIDDEN naming the field.
 */
import { describe, expect, test } from '@jest/globals';
import {
  checkBackupSessions, checkBackupVersion, checkCrossSigningUpload, checkKeysUpload, checkMessageEvent, checkStateEvent, checkToDeviceMessage,
  MEGOLM, MEGOLM_BACKUP, OLM, type PolicySettings,
} from '../../src/relay/policy.js';
import { MatrixError } from '../../src/errors.js';
import { isBase64 } from '../../src/relay/policy/shape.js';
import { checkAccountData, checkCreationContent } from '../../src/relay/policy.js';
import { MAX_CUSTOM_STATE_BYTES } from '../../src/relay/policy/state-events.js';
import { MAX_CUSTOM_ACCOUNT_DATA_BYTES } from '../../src/relay/policy/account-data.js';

const defaults: PolicySettings = {
  allowPlaintextMessages: false,
  allowPlaintextReactions: true,
  allowPlaintextRedactions: true,
  allowRedactionReasons: true,
  allowInRoomVerification: true,
  allowPlaintextToDevice: false,
  refusePlaintextRoomMetadata: false,
  allowCustomState: true,
  allowCustomAccountData: true,
};
const strict: PolicySettings = {
  ...defaults, allowPlaintextReactions: false, allowPlaintextRedactions: false, allowRedactionReasons: false, allowInRoomVerification: false, refusePlaintextRoomMetadata: true,
  allowCustomState: false, allowCustomAccountData: false,
};

const EV = '$0z5fny4KcD6tVO_Xw2vxHmMH-qqfAiA-VY6MdkzU4Tc';
const KEY = 'JTWoryJ81+GpnByV4Sa36ZsU2w2TVNN78LtgBtt9igk';
const SIG = 'dSO80A01XiigH3uBiDVx/EjzaoycHcjq9lfQX0uWsqxl2giMIiSPR8a4d291W1ihKJL/a+myXS367WT6NAIcBA';
const megolm = { algorithm: MEGOLM, ciphertext: 'AwgAEqABL/vfTYMpop0gp+v9PfvjSdWcs2fqqSg9h4G1', session_id: 'jefA/LteuaJE8iWL08FFw5Lr1y2/rTtaLh2B2yohcF4', sender_key: KEY, device_id: 'XNISMWCTMQ' };
const thread = { rel_type: 'm.thread', event_id: EV, is_falling_back: true, 'm.in_reply_to': { event_id: EV } };
const reaction = { 'm.relates_to': { rel_type: 'm.annotation', event_id: EV, key: '👍' } };
const ref = { rel_type: 'm.reference', event_id: EV };
const methods = ['m.sas.v1', 'm.qr_code.scan.v1', 'm.qr_code.show.v1', 'm.reciprocate.v1'];

/** What matrix-js-sdk 43 (Rust crypto) sent for one in-room SAS verification. */
const verification: [string, Record<string, unknown>][] = [
  ['m.room.message', { msgtype: 'm.key.verification.request', body: '@alice:test.local is requesting to verify your key, but your client does not support in-chat key verification. You will need to use legacy key verification to verify keys.', methods, from_device: 'XNISMWCTMQ', to: '@bob:test.local' }],
  ['m.key.verification.ready', { from_device: 'CSUBTKCUXV', methods, 'm.relates_to': ref }],
  ['m.key.verification.start', {
    from_device: 'XNISMWCTMQ', method: 'm.sas.v1', key_agreement_protocols: ['curve25519-hkdf-sha256'], hashes: ['sha256'],
    message_authentication_codes: ['hkdf-hmac-sha256', 'hkdf-hmac-sha256.v2', 'org.matrix.msc3783.hkdf-hmac-sha256'], short_authentication_string: ['decimal', 'emoji'], 'm.relates_to': ref,
  }],
  ['m.key.verification.accept', {
    key_agreement_protocol: 'curve25519-hkdf-sha256', hash: 'sha256', message_authentication_code: 'hkdf-hmac-sha256.v2', short_authentication_string: ['decimal', 'emoji'],
    commitment: 'C/LlY+JMfyJXIMLBRpxWsnczuiusTWrd1QIIKZ8ve/Y', 'm.relates_to': ref,
  }],
  ['m.key.verification.key', { key: 'q8/mTUgyKysSBXplTFPFzCMBudyOTLDm90FqufTXrA4', 'm.relates_to': ref }],
  ['m.key.verification.mac', { mac: { 'ed25519:XNISMWCTMQ': 'iF3LDU+LZW8sVbwHOOhCxFRSEaWc38GcitJT67pCwfg', [`ed25519:${KEY}`]: 'w/blkLsHO9JLw6aRHWuaZV0hJ61RFakXcJ4HkouQ8o0' }, keys: 'zXratf+zW4Dom5Ubcn2kYZYmoeITrtOeBSoKP2dqGpc', 'm.relates_to': ref }],
  ['m.key.verification.done', { 'm.relates_to': ref }],
  ['m.key.verification.cancel', { code: 'm.user', reason: 'The user cancelled the verification.', 'm.relates_to': ref }],
];

function refusal(fn: () => void): MatrixError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MatrixError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** Refused with 403 M_FORBIDDEN, and the error names `field`. */
function expectRefused(fn: () => void, field: string): void {
  const err = refusal(fn);
  expect([err.status, err.errcode]).toEqual([403, 'M_FORBIDDEN']);
  expect(err.message).toContain(field);
}

describe('base64: one check for every key, MAC and ciphertext', () => {
  test.each([
    ['unpadded, length mod 4 = 0, 2, 3', ['QUJD', 'QUI', 'QQ', KEY, SIG]],
    ['padded', ['QQ==', 'QUI=', 'QUJD']],
    ['URL-safe', ['a-_b', '-_8']],
  ])('%s passes', (_n, values) => {
    for (const v of values) expect([v, isBase64(v)]).toEqual([v, true]);
  });
  test.each([
    ['length mod 4 = 1 (no encoder makes it)', 'QUJDR'],
    ['a single character', 'Q'],
    ['padding on a length mod 4 = 1', 'QUJDR==='],
    ['padding that does not complete a quantum', 'QUJ=='],
    ['one = where two are needed', 'QQ='],
    ['two = where one is needed', 'QUI=='],
    ['three =', 'Q==='],
    ['padding in the middle', 'QQ==QUJD'],
    ['only padding', '=='],
    ['both alphabets in one value', 'ab+-'],
    ['a space', 'QUJD QUJD'],
    ['the empty string', ''],
  ])('%s is refused', (_n, v) => {
    expect(isBase64(v)).toBe(false);
  });
  test('the envelope, keys and backups all use it: a ciphertext of length mod 4 = 1 is refused wherever it goes', () => {
    expectRefused(() => checkMessageEvent(defaults, 'm.room.encrypted', { ...megolm, ciphertext: 'AwgAE' }), 'content.ciphertext');
    expectRefused(() => checkMessageEvent(defaults, 'm.room.encrypted', { ...megolm, session_id: 'QUI==' }), 'content.session_id');
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { algorithm: OLM, sender_key: KEY, ciphertext: { QUJDR: { type: 0, body: 'QUJD' } } }, 'messages'), 'not well-formed');
    expectRefused(() => checkBackupSessions({ '!room:x': { QUJDR: { session_data: { ephemeral: KEY, ciphertext: 'QUJD', mac: 'QUJD' } } } }), 'base64');
  });
});

describe('m.room.encrypted: exactly the Megolm envelope', () => {
  test('what clients send passes: the envelope, with a thread, reply, edit or reference relation', () => {
    expect(() => checkMessageEvent(defaults, 'm.room.encrypted', megolm)).not.toThrow();
    for (const rel of [thread, { 'm.in_reply_to': { event_id: EV } }, { rel_type: 'm.replace', event_id: EV }, ref]) {
      expect(() => checkMessageEvent(strict, 'm.room.encrypted', { ...megolm, 'm.relates_to': rel })).not.toThrow();
    }
    const { sender_key: _k, device_id: _d, ...minimal } = megolm;
    expect(() => checkMessageEvent(strict, 'm.room.encrypted', minimal)).not.toThrow();
  });

  test.each([
    ['an extra body', { ...megolm, body: 'secret' }, 'content.body'],
    ['an m.new_content', { ...megolm, 'm.new_content': { body: 'secret' } }, 'content.m.new_content'],
    ['m.mentions in the clear', { ...megolm, 'm.mentions': { user_ids: [] } }, 'content.m.mentions'],
    ['text in session_id', { ...megolm, session_id: 'hello, this is plain text' }, 'content.session_id'],
    ['text in ciphertext', { ...megolm, ciphertext: 'meet me at noon' }, 'content.ciphertext'],
    ['a huge session_id', { ...megolm, session_id: 'A'.repeat(4096) }, 'content.session_id'],
    ['a numeric ciphertext', { ...megolm, ciphertext: 5 }, 'content.ciphertext'],
    ['an object sender_key', { ...megolm, sender_key: { k: 1 } }, 'content.sender_key'],
    ['a device_id with spaces', { ...megolm, device_id: 'my secret device' }, 'content.device_id'],
    ['no session_id', { algorithm: MEGOLM, ciphertext: 'AAAA' }, 'content.session_id'],
    ['an unknown rel_type', { ...megolm, 'm.relates_to': { rel_type: 'org.example.notes', event_id: EV } }, 'content.m.relates_to.rel_type'],
    ['text in a relation', { ...megolm, 'm.relates_to': { ...thread, note: 'hi' } }, 'content.m.relates_to.note'],
    ['text as an event id', { ...megolm, 'm.relates_to': { rel_type: 'm.thread', event_id: '$this is a secret' } }, 'content.m.relates_to.event_id'],
    ['a reaction key in the envelope', { ...megolm, 'm.relates_to': { rel_type: 'm.annotation', event_id: EV, key: 'secret' } }, 'content.m.relates_to.key'],
    ['text next to the reply id', { ...megolm, 'm.relates_to': { 'm.in_reply_to': { event_id: EV, quote: 'x' } } }, 'content.m.relates_to.m.in_reply_to.quote'],
    ['a string is_falling_back', { ...megolm, 'm.relates_to': { ...thread, is_falling_back: 'yes' } }, 'content.m.relates_to.is_falling_back'],
    ['a non-object relation', { ...megolm, 'm.relates_to': 'secret' }, 'content.m.relates_to'],
  ])('%s is refused, naming the field', (_n, content, field) => {
    expectRefused(() => checkMessageEvent(defaults, 'm.room.encrypted', content as Record<string, unknown>), field);
  });

  test('Olm or an unknown algorithm in a room is refused', () => {
    expectRefused(() => checkMessageEvent(defaults, 'm.room.encrypted', { algorithm: OLM, ciphertext: {} }), 'only relays end-to-end encrypted messages');
  });
});

describe('clear message events', () => {
  test.each([
    ['plaintext m.room.message', 'm.room.message', { msgtype: 'm.text', body: 'hello' }],
    ['custom event type', 'org.example.custom', { anything: true }],
    ['a verification request with another msgtype', 'm.room.message', { ...verification[0][1], msgtype: 'm.text' }],
  ])('%s is refused: encrypt it on your device', (_n, type, content) => {
    expectRefused(() => checkMessageEvent(defaults, type, content as Record<string, unknown>), 'must be sent as m.room.encrypted');
  });

  test('reactions and redactions are allowed by default and refused in strict mode', () => {
    expect(() => checkMessageEvent(defaults, 'm.reaction', reaction)).not.toThrow();
    expect(() => checkMessageEvent(defaults, 'm.room.redaction', { redacts: EV })).not.toThrow();
    expect(() => checkMessageEvent(defaults, 'm.room.redaction', { redacts: EV, reason: 'spam' })).not.toThrow();
    expectRefused(() => checkMessageEvent(strict, 'm.reaction', reaction), 'm.reaction');
    expectRefused(() => checkMessageEvent(strict, 'm.room.redaction', { redacts: EV }), 'm.room.redaction');
  });

  test.each([
    ['a body', { ...reaction, body: 'secret' }, 'content.body'],
    ['another relation', { 'm.relates_to': ref }, 'content.m.relates_to.rel_type'],
    ['a long key', { 'm.relates_to': { ...reaction['m.relates_to'], key: 'x'.repeat(65) } }, 'content.m.relates_to.key'],
    ['a numeric key', { 'm.relates_to': { ...reaction['m.relates_to'], key: 1 } }, 'content.m.relates_to.key'],
    ['an extra relation field', { 'm.relates_to': { ...reaction['m.relates_to'], note: 'x' } }, 'content.m.relates_to.note'],
    ['no relation', {}, 'content.m.relates_to'],
  ])('a reaction with %s is refused', (_n, content, field) => {
    expectRefused(() => checkMessageEvent(defaults, 'm.reaction', content as Record<string, unknown>), field);
  });

  test.each([
    ['an extra key', { redacts: EV, note: 'x' }, 'content.note'],
    ['a long reason', { redacts: EV, reason: 'x'.repeat(513) }, 'content.reason'],
    ['a non-string reason', { redacts: EV, reason: { text: 'x' } }, 'content.reason'],
    ['text as the redacted id', { redacts: '$hello there' }, 'content.redacts'],
  ])('a redaction with %s is refused', (_n, content, field) => {
    expectRefused(() => checkMessageEvent(defaults, 'm.room.redaction', content as Record<string, unknown>), field);
  });

  test('ALLOW_REDACTION_REASONS=off refuses reasons, not redactions', () => {
    const noReasons = { ...defaults, allowRedactionReasons: false };
    expect(() => checkMessageEvent(noReasons, 'm.room.redaction', { redacts: EV })).not.toThrow();
    expectRefused(() => checkMessageEvent(noReasons, 'm.room.redaction', { redacts: EV, reason: 'spam' }), 'content.reason');
  });

  test('ALLOW_PLAINTEXT_MESSAGES lets plaintext through (conformance suites only)', () => {
    expect(() => checkMessageEvent({ ...defaults, allowPlaintextMessages: true }, 'm.room.message', { msgtype: 'm.text', body: 'hi' })).not.toThrow();
  });
});

describe('in-room verification', () => {
  test.each(verification)('%s as matrix-js-sdk sends it passes', (type, content) => {
    expect(() => checkMessageEvent(defaults, type, content)).not.toThrow();
  });

  test('QR reciprocation passes; ALLOW_IN_ROOM_VERIFICATION=off refuses every step', () => {
    const reciprocate = { from_device: 'XNISMWCTMQ', method: 'm.reciprocate.v1', secret: 'q8/mTUgyKysSBXplTFPFzCMBudyOTLDm90FqufTXrA4', 'm.relates_to': ref };
    expect(() => checkMessageEvent(defaults, 'm.key.verification.start', reciprocate)).not.toThrow();
    for (const [type, content] of verification) expectRefused(() => checkMessageEvent({ ...defaults, allowInRoomVerification: false }, type, content), 'must be sent as m.room.encrypted');
  });

  test('every step refuses an extra key, a missing reference and a relation of another type', () => {
    for (const [type, content] of verification) {
      expectRefused(() => checkMessageEvent(defaults, type, { ...content, note: 'hi' }), 'content.note');
      if (type === 'm.room.message') continue;
      const { 'm.relates_to': _r, ...unrelated } = content;
      expectRefused(() => checkMessageEvent(defaults, type, unrelated), 'content.m.relates_to');
      expectRefused(() => checkMessageEvent(defaults, type, { ...content, 'm.relates_to': { rel_type: 'm.thread', event_id: EV } }), 'content.m.relates_to.rel_type');
      expectRefused(() => checkMessageEvent(defaults, type, { ...content, 'm.relates_to': { ...ref, key: 'x' } }), 'content.m.relates_to.key');
    }
  });

  const by = (type: string) => verification.find(([t]) => t === type)![1];
  test.each([
    ['m.room.message', { formatted_body: '<b>hi</b>' }, 'content.formatted_body'],
    ['m.room.message', { body: 'x'.repeat(513) }, 'content.body'],
    ['m.room.message', { to: 'bob' }, 'content.to'],
    ['m.room.message', { methods: ['m.sas.v1', 'say hello'] }, 'content.methods[1]'],
    ['m.room.message', { methods: [] }, 'content.methods'],
    ['m.room.message', { from_device: 'two words' }, 'content.from_device'],
    ['m.key.verification.ready', { methods: 'm.sas.v1' }, 'content.methods'],
    ['m.key.verification.start', { hashes: ['md5'] }, 'content.hashes[0]'],
    ['m.key.verification.start', { method: 'org.example.chat' }, 'content.method'],
    ['m.key.verification.accept', { commitment: 'not base64!' }, 'content.commitment'],
    ['m.key.verification.key', { key: 'my public key is here' }, 'content.key'],
    ['m.key.verification.key', { key: 'A'.repeat(200) }, 'content.key'],
    ['m.key.verification.mac', { mac: { 'ed25519:XNISMWCTMQ': 'hello world' } }, 'content.mac.ed25519:XNISMWCTMQ'],
    ['m.key.verification.mac', { mac: { 'hello world': KEY } }, 'content.mac'],
    ['m.key.verification.mac', { keys: 12 }, 'content.keys'],
    ['m.key.verification.cancel', { reason: 'x'.repeat(257) }, 'content.reason'],
    ['m.key.verification.cancel', { code: 'no spaces allowed' }, 'content.code'],
  ])('%s with %j is refused', (type, change, field) => {
    expectRefused(() => checkMessageEvent(defaults, type, { ...by(type), ...change }), field);
  });
});

describe('to-device', () => {
  const olm = { algorithm: OLM, sender_key: KEY, ciphertext: { [KEY]: { type: 0, body: 'AwogZm9vYmFy' } }, 'org.matrix.msgid': '0de8f720fed74741a8845891ff4cb5da' };
  const at = 'messages.@bob:x.DEV';

  test('Olm envelopes pass; extra keys, text, wrong types and shapes are refused', () => {
    expect(() => checkToDeviceMessage(defaults, 'm.room.encrypted', olm, at)).not.toThrow();
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, body: 'x' }, at), `${at}.body`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, algorithm: MEGOLM }, at), `${at}.algorithm`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, ciphertext: 'AAAA' }, at), `${at}.ciphertext`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, ciphertext: {} }, at), `${at}.ciphertext`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, ciphertext: { [KEY]: { type: 2, body: 'AAAA' } } }, at), `${at}.ciphertext.${KEY}.type`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, ciphertext: { [KEY]: { type: 0, body: 'plain words' } } }, at), `${at}.ciphertext.${KEY}.body`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, ciphertext: { 'not a key!': { type: 0, body: 'AAAA' } } }, at), `${at}.ciphertext`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, ciphertext: { [KEY]: { type: 0, body: 'AAAA', note: 'x' } } }, at), 'note');
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room.encrypted', { ...olm, 'org.matrix.msgid': 'a b' }, at), 'org.matrix.msgid');
  });

  test.each(['m.room_key', 'm.forwarded_room_key', 'm.secret.send', 'm.room.message', 'm.room_key_bundle'])(
    '%s in the clear is refused, whatever the settings',
    (type) => {
      const err = refusal(() => checkToDeviceMessage({ ...defaults, allowPlaintextToDevice: true }, type, { room_id: '!r:x', session_key: 'AAAA' }, at));
      expect([err.status, err.errcode]).toEqual([403, 'M_FORBIDDEN']);
      expect(err.message).toContain(`will not relay ${type} in the clear`);
      expect(err.message).toContain('Olm-encrypted');
    },
  );

  test('unknown clear types are refused unless ALLOW_PLAINTEXT_TO_DEVICE is on', () => {
    expectRefused(() => checkToDeviceMessage(defaults, 'org.example.note', { text: 'hi' }, at), 'ALLOW_PLAINTEXT_TO_DEVICE');
    expect(() => checkToDeviceMessage({ ...defaults, allowPlaintextToDevice: true }, 'org.example.note', { text: 'hi' }, at)).not.toThrow();
  });

  const txn = { transaction_id: 'mBNlMxsSGFGjPMLJmzdnYxbQXBxgPbmM', 'org.matrix.msgid': 'c7eaa0a5b5394ff480c8312732bf6168' };
  const clear: [string, Record<string, unknown>][] = [
    ['m.key.verification.request', { from_device: 'DEV', methods, timestamp: 1764690000000, ...txn }],
    ...verification.filter(([t]) => t !== 'm.room.message').map(([t, c]): [string, Record<string, unknown>] => {
      const { 'm.relates_to': _r, ...rest } = c;
      return [t, { ...rest, ...txn }];
    }),
    ['m.room_key_request', { action: 'request', requesting_device_id: 'DEV', request_id: 'req1', body: { algorithm: MEGOLM, room_id: '!room:x', sender_key: KEY, session_id: KEY } }],
    ['m.room_key_request', { action: 'request_cancellation', requesting_device_id: 'DEV', request_id: 'req1' }],
    ['m.secret.request', { action: 'request', requesting_device_id: 'DEV', request_id: 'req2', name: 'm.cross_signing.master' }],
    ['m.room_key.withheld', { algorithm: MEGOLM, code: 'm.unverified', room_id: '!room:x', session_id: KEY, sender_key: KEY, reason: 'The sender disabled encrypting to unverified devices.', from_device: 'DEV' }],
    ['m.dummy', {}],
  ];
  test.each(clear)('%s in the clear passes in its exact shape, and nothing else rides along', (type, content) => {
    expect(() => checkToDeviceMessage(defaults, type, content, at)).not.toThrow();
    expectRefused(() => checkToDeviceMessage(defaults, type, { ...content, body: 'secret' }, at), `${at}.body`);
  });

  test('a verification step over to-device needs its transaction id; a room key request names a well-formed session', () => {
    expectRefused(() => checkToDeviceMessage(defaults, 'm.key.verification.done', {}, at), `${at}.transaction_id`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.key.verification.done', { transaction_id: 'a b' }, at), `${at}.transaction_id`);
    const request = clear.find(([t]) => t === 'm.room_key_request')![1];
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room_key_request', { ...request, body: { ...(request.body as object), session_key: KEY } }, at), `${at}.body.session_key`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.room_key_request', { ...request, action: 'share' }, at), `${at}.action`);
    expectRefused(() => checkToDeviceMessage(defaults, 'm.secret.request', { action: 'request', requesting_device_id: 'DEV', request_id: 'r', name: 'my secret is 1234' }, at), `${at}.name`);
  });
});

describe('uploaded keys', () => {
  const user = '@alice:x';
  const signatures = { [user]: { 'ed25519:DEV': SIG } };
  const deviceKeys = {
    user_id: user, device_id: 'DEV', algorithms: [OLM, MEGOLM], keys: { 'ed25519:DEV': KEY, 'curve25519:DEV': KEY }, signatures,
  };
  const otk = { 'signed_curve25519:AAAAAQ': { key: KEY, signatures } };
  const fallback = { 'signed_curve25519:AAAAAg': { key: KEY, fallback: true, signatures } };
  const master = { user_id: user, usage: ['master'], keys: { [`ed25519:${KEY}`]: KEY }, signatures };

  test('spec-shaped device, one-time, fallback and cross-signing keys pass', () => {
    expect(() => checkKeysUpload({ device_keys: deviceKeys, one_time_keys: otk, fallback_keys: fallback })).not.toThrow();
    expect(() => checkKeysUpload({ device_keys: { ...deviceKeys, dehydrated: true }, one_time_keys: { 'curve25519:AAAAAw': KEY } })).not.toThrow();
    expect(() => checkCrossSigningUpload({ master_key: master, self_signing_key: { ...master, usage: ['self_signing'] } })).not.toThrow();
  });

  test.each([
    ['device_keys with unsigned text', { device_keys: { ...deviceKeys, unsigned: { device_display_name: 'my phone' } } }, 'device_keys.unsigned'],
    ['device_keys with a note', { device_keys: { ...deviceKeys, note: 'x' } }, 'device_keys.note'],
    ['device_keys with a text key', { device_keys: { ...deviceKeys, keys: { 'ed25519:DEV': 'not a key at all' } } }, 'device_keys.keys.ed25519:DEV'],
    ['device_keys with a text signature', { device_keys: { ...deviceKeys, signatures: { [user]: { 'ed25519:DEV': 'hello world' } } } }, 'device_keys.signatures'],
    ['device_keys with a text algorithm', { device_keys: { ...deviceKeys, algorithms: ['hello world'] } }, 'device_keys.algorithms[0]'],
    ['a one-time key with a note', { one_time_keys: { 'signed_curve25519:A': { key: KEY, signatures, note: 'x' } } }, 'one_time_keys.signed_curve25519:A.note'],
    ['a one-time key marked fallback', { one_time_keys: { 'signed_curve25519:A': { key: KEY, signatures, fallback: true } } }, 'one_time_keys.signed_curve25519:A.fallback'],
    ['a bare one-time key of text', { one_time_keys: { 'curve25519:A': 'a secret note' } }, 'one_time_keys.curve25519:A'],
    ['a one-time key id of text', { one_time_keys: { 'my secret': { key: KEY, signatures } } }, 'one_time_keys'],
    ['a fallback key with a number key', { fallback_keys: { 'signed_curve25519:A': { key: 5, signatures } } }, 'fallback_keys.signed_curve25519:A.key'],
  ])('%s is refused', (_n, body, field) => {
    expectRefused(() => checkKeysUpload(body), field);
  });

  test('cross-signing keys carry only user_id, usage, keys and signatures', () => {
    expectRefused(() => checkCrossSigningUpload({ master_key: { ...master, note: 'x' } }), 'master_key.note');
    expectRefused(() => checkCrossSigningUpload({ master_key: { ...master, usage: ['master', 'notes'] } }), 'master_key.usage[1]');
    expectRefused(() => checkCrossSigningUpload({ user_signing_key: { ...master, keys: { [`ed25519:${KEY}`]: KEY, 'ed25519:B': KEY } } }), 'user_signing_key.keys');
  });
});

describe('key backup', () => {
  const session = { ephemeral: KEY, ciphertext: 'AwgAEqABL/vfTYMpop0gp+v9PfvjSdWcs2fqqSg9h4G1', mac: 'C/LlY+JMfyI' };
  const rooms = (data: unknown) => ({ '!room:x': { [KEY]: { session_data: data } } });

  test('the known algorithm with its auth_data, and sessions of exactly {ciphertext, mac, ephemeral}, pass', () => {
    expect(() => checkBackupVersion(MEGOLM_BACKUP, { public_key: KEY, signatures: { '@a:x': { 'ed25519:DEV': SIG } } })).not.toThrow();
    expect(() => checkBackupSessions(rooms(session))).not.toThrow();
  });

  test('other algorithms, auth_data extras and every other session shape are refused', () => {
    expectRefused(() => checkBackupVersion('org.example.plain', { public_key: KEY }), 'algorithm');
    expectRefused(() => checkBackupVersion(MEGOLM_BACKUP, { public_key: KEY, private_key: KEY }), 'auth_data.private_key');
    expectRefused(() => checkBackupVersion(MEGOLM_BACKUP, { public_key: 'my key' }), 'auth_data.public_key');
    expectRefused(() => checkBackupSessions(rooms({ ...session, session_key: KEY })), `session_data.session_key`);
    expectRefused(() => checkBackupSessions(rooms({ ...session, ciphertext: 'plain text' })), 'session_data.ciphertext');
    expectRefused(() => checkBackupSessions(rooms({ ciphertext: 'AAAA', mac: 'AAAA' })), 'session_data.ephemeral');
    expectRefused(() => checkBackupSessions(rooms('AAAA')), 'session_data');
    expectRefused(() => checkBackupSessions({ 'not a room': { [KEY]: { session_data: session } } }), 'not a room id');
    expectRefused(() => checkBackupSessions({ '!room:x': { 'session about lunch': { session_data: session } } }), 'session id is base64');
  });
});

describe('state events', () => {
  test('encryption must be Megolm and cannot change once set', () => {
    expect(() => checkStateEvent(defaults, 'm.room.encryption', { algorithm: MEGOLM }, undefined)).not.toThrow();
    expect(refusal(() => checkStateEvent(defaults, 'm.room.encryption', { algorithm: 'm.none' }, undefined)).errcode).toBe('M_FORBIDDEN');
    expect(refusal(() => checkStateEvent(defaults, 'm.room.encryption', {}, { algorithm: MEGOLM })).errcode).toBe('M_FORBIDDEN');
    expect(
      refusal(() => checkStateEvent(defaults, 'm.room.encryption', { algorithm: MEGOLM, rotation_period_ms: 1 }, { algorithm: MEGOLM })).message,
    ).toContain('cannot be changed');
    expect(() => checkStateEvent(defaults, 'm.room.encryption', { algorithm: MEGOLM }, { algorithm: MEGOLM })).not.toThrow();
  });

  test('m.room.create cannot be sent by a client (only room creation writes it)', () => {
    const err = refusal(() => checkStateEvent(defaults, 'm.room.create', { room_version: '10', creator: '@a:x' }, undefined));
    expect(err.errcode).toBe('M_FORBIDDEN');
    expect(err.message).toMatch(/room is created/);
  });

  test('room names, topics and avatars are refused only when metadata is refused', () => {
    for (const [type, content] of [['m.room.name', { name: 'x' }], ['m.room.topic', { topic: 'x' }], ['m.room.avatar', { url: 'mxc://x/y' }]] as const) {
      expect(() => checkStateEvent(defaults, type, content, undefined)).not.toThrow();
      expect(refusal(() => checkStateEvent(strict, type, content, undefined)).errcode).toBe('M_FORBIDDEN');
    }
    expect(() => checkStateEvent(strict, 'm.room.member', { membership: 'join' }, undefined)).not.toThrow();
  });
});

/** What Element Web, Element X and matrix-js-sdk put in room state (at room creation, in spaces, for widgets and calls). */
const ROOM = '!abcdefghijkl:test.local';
const ALICE = '@alice:test.local';
const elementState: [string, Record<string, unknown>][] = [
  ['m.room.member', { membership: 'join', displayname: 'Alice', avatar_url: 'mxc://test.local/abcDEF123' }],
  ['m.room.member', { membership: 'invite', displayname: null, is_direct: true, reason: 'join us' }],
  ['m.room.member', { membership: 'join', join_authorised_via_users_server: ALICE, 'xyz.amorgan.blurhash': 'LEHV6nWB2yk8pyo0adR*.7kCMdnj' }],
  ['m.room.power_levels', {
    users: { [ALICE]: 100 }, users_default: 0, events: { 'm.room.name': 50, 'im.vector.modular.widgets': 50, 'org.matrix.msc3401.call.member': 0 },
    events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0, historical: 100, notifications: { room: 50 },
  }],
  ['m.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: ROOM }] }],
  ['m.room.join_rules', { join_rule: 'knock' }],
  ['m.room.history_visibility', { history_visibility: 'joined' }],
  ['m.room.guest_access', { guest_access: 'can_join' }],
  ['m.room.encryption', { algorithm: MEGOLM, rotation_period_ms: 604800000, rotation_period_msgs: 100 }],
  ['m.room.name', { name: '' }],
  ['m.room.topic', { topic: 'plans', 'm.topic': { 'm.text': [{ body: 'plans', mimetype: 'text/plain' }, { body: '<b>plans</b>', mimetype: 'text/html' }] } }],
  ['m.room.avatar', { url: 'mxc://test.local/abc', info: { h: 96, w: 96, mimetype: 'image/png', size: 1234, 'xyz.amorgan.blurhash': 'LEHV6nWB2yk8' } }],
  ['m.room.avatar', {}],
  ['m.room.canonical_alias', { alias: '#room:test.local', alt_aliases: ['#other:test.local'] }],
  ['m.room.canonical_alias', {}],
  ['m.room.pinned_events', { pinned: [EV] }],
  ['m.room.pinned_events', { pinned: [] }],
  ['m.room.server_acl', { allow: ['*'], deny: ['evil.example', '*.evil.example'], allow_ip_literals: false }],
  ['m.room.tombstone', { body: 'This room has been replaced', replacement_room: ROOM }],
  ['m.space.child', { via: ['test.local'], suggested: false, order: 'a' }],
  ['m.space.child', {}],
  ['m.space.parent', { via: ['test.local'], canonical: true }],
  ['m.room.retention', { max_lifetime: 86400000 }],
];
/** State outside the spec that Element writes: kept (bounded) unless ALLOW_CUSTOM_STATE is off. */
const elementCustomState: [string, Record<string, unknown>][] = [
  ['im.vector.modular.widgets', { type: 'jitsi', url: 'https://app.element.io/jitsi.html#conferenceId=$conferenceId', name: 'Jitsi', data: { conferenceId: 'abc' }, id: 'w1', creatorUserId: ALICE }],
  ['io.element.widgets.layout', { widgets: { w1: { container: 'top', index: 0, width: 100, height: 40 } } }],
  ['org.matrix.msc3401.call.member', {
    application: 'm.call', call_id: '', scope: 'm.room', device_id: 'XNISMWCTMQ', expires: 14400000, 'm.call.intent': 'video',
    focus_active: { type: 'livekit', focus_selection: 'oldest_membership' }, foci_preferred: [{ type: 'livekit', livekit_service_url: 'https://livekit.example', livekit_alias: ROOM }],
  }],
  ['org.matrix.msc3401.call.member', {}],
];

describe('room state: the spec\'s types in their exact shapes, other types bounded', () => {
  test.each(elementState)('%s as clients send it passes, also in strict mode', (type, content) => {
    expect(() => checkStateEvent(defaults, type, content, undefined)).not.toThrow();
    if (!['m.room.name', 'm.room.topic', 'm.room.avatar'].includes(type)) expect(() => checkStateEvent(strict, type, content, undefined)).not.toThrow();
  });

  test.each(elementCustomState)('%s (outside the spec) passes bounded, and is refused with ALLOW_CUSTOM_STATE=off', (type, content) => {
    expect(() => checkStateEvent(defaults, type, content, undefined)).not.toThrow();
    expectRefused(() => checkStateEvent(strict, type, content, undefined), 'ALLOW_CUSTOM_STATE is off');
  });

  test.each([
    ['a note beside the join rule', 'm.room.join_rules', { join_rule: 'invite', note: 'secret' }, 'content.note'],
    ['an unknown join rule', 'm.room.join_rules', { join_rule: 'meet me at noon' }, 'content.join_rule'],
    ['text in a restricted rule', 'm.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: ROOM, why: 'x' }] }, 'content.allow[0].why'],
    ['a sentence as guest access', 'm.room.guest_access', { guest_access: 'meet me at noon' }, 'content.guest_access'],
    ['a name over 255 bytes', 'm.room.name', { name: 'n'.repeat(256) }, 'content.name'],
    ['a topic over 4 KiB', 'm.room.topic', { topic: 't'.repeat(4097) }, 'content.topic'],
    ['text beside the topic', 'm.room.topic', { topic: 'x', body: 'secret' }, 'content.body'],
    ['a word as a power level', 'm.room.power_levels', { ban: 'fifty' }, 'content.ban'],
    ['text in the power levels', 'm.room.power_levels', { users: { [ALICE]: 100 }, note: 'secret' }, 'content.note'],
    ['a sentence as a user id', 'm.room.power_levels', { users: { 'meet me at noon': 100 } }, 'content.users'],
    ['a bio in a member event', 'm.room.member', { membership: 'join', bio: 'secret' }, 'content.bio'],
    ['a novel as a member reason', 'm.room.member', { membership: 'leave', reason: 'r'.repeat(600) }, 'content.reason'],
    ['a member event without membership', 'm.room.member', { displayname: 'x' }, 'content.membership'],
    ['an avatar URL over 1 KiB', 'm.room.avatar', { url: `mxc://x/${'a'.repeat(1100)}` }, 'content.url'],
    ['text in the avatar info', 'm.room.avatar', { url: 'mxc://x/y', info: { caption: 'secret' } }, 'content.info.caption'],
    ['text beside the canonical alias', 'm.room.canonical_alias', { alias: '#room:test.local', note: 'secret' }, 'content.note'],
    ['text in pinned events', 'm.room.pinned_events', { pinned: ['meet me at noon'] }, 'content.pinned[0]'],
    ['a long space order', 'm.space.child', { via: ['test.local'], order: 'o'.repeat(51) }, 'content.order'],
    ['a sentence as a via', 'm.space.child', { via: ['meet me at noon'] }, 'content.via[0]'],
    ['text beside the tombstone', 'm.room.tombstone', { replacement_room: ROOM, note: 'secret' }, 'content.note'],
    ['text beside the encryption', 'm.room.encryption', { algorithm: MEGOLM, note: 'secret' }, 'content.note'],
    ['a custom state event over 4 KiB', 'org.example.notes', { text: 'x'.repeat(MAX_CUSTOM_STATE_BYTES) }, 'content'],
  ])('%s is refused, naming the field', (_n, type, content, field) => {
    expectRefused(() => checkStateEvent(defaults, type, content as Record<string, unknown>, undefined), field);
  });

  test.each(['m.room.message', 'm.room.encrypted', 'm.sticker', 'm.reaction', 'm.room.redaction', 'm.key.verification.start'])(
    '%s is a message event: never state, whatever the settings',
    (type) => {
      expectRefused(() => checkStateEvent(defaults, type, { msgtype: 'm.text', body: 'hello' }, undefined), 'message event');
    },
  );

  test('creation_content carries only the room type, m.federate and the predecessor', () => {
    expect(() => checkCreationContent({ type: 'm.space', 'm.federate': false, predecessor: { room_id: ROOM, event_id: EV } })).not.toThrow();
    expectRefused(() => checkCreationContent({ type: 'm.space', note: 'secret' }), 'creation_content.note');
    expectRefused(() => checkCreationContent({ type: 'meet me at noon' }), 'creation_content.type');
  });
});

const SSSS_KEY = 'Rjvbx1S0vAZsKWMYDUTOwtnUYE4KymZs';
const secret = { encrypted: { [SSSS_KEY]: { iv: 'k8aWxUr2vvKGj9DYiAdLLw==', ciphertext: 'u2vwbMFpg3Jl0uDU2x0plGqv5zKXlPHZ1fx0gWDuLCIJrSrB', mac: 'oqldrMkdWNfnCc80Gr/m0c5mnkTYdcpQ0EK7I2vBDYY=' } } };
/** What Element Web, Element X and matrix-js-sdk keep as account data. */
const elementAccountData: [string, Record<string, unknown>, boolean][] = [
  ['m.direct', { [ALICE]: [ROOM] }, false],
  ['m.ignored_user_list', { ignored_users: { [ALICE]: {} } }, false],
  ['m.identity_server', { base_url: null }, false],
  ['m.accepted_terms', { accepted: ['https://example.org/terms'] }, false],
  ['m.secret_storage.default_key', { key: SSSS_KEY }, false],
  [`m.secret_storage.key.${SSSS_KEY}`, { algorithm: 'm.secret_storage.v1.aes-hmac-sha2', iv: 'k8aWxUr2vvKGj9DYiAdLLw==', mac: 'oqldrMkdWNfnCc80Gr/m0c5mnkTYdcpQ0EK7I2vBDYY=', passphrase: { algorithm: 'm.pbkdf2', salt: 'ZqqVIwYbsAXgMu8WSHLaxBjaPWZ7kHv1', iterations: 500000 } }, false],
  ['m.cross_signing.master', secret, false],
  ['m.cross_signing.self_signing', secret, false],
  ['m.cross_signing.user_signing', secret, false],
  ['m.megolm_backup.v1', secret, false],
  ['m.cross_signing.master', {}, false],
  ['m.key_backup', { enabled: true }, false],
  ['m.recent_emoji', { recent_emoji: [{ emoji: '👍', total: 3 }] }, false],
  ['m.tag', { tags: { 'm.favourite': { order: 0.5 }, 'u.work': {} } }, true],
  ['m.marked_unread', { unread: true }, true],
  ['com.famedly.marked_unread', { unread: false }, true],
  // A secret of another type (a dehydrated device's pickle key) is ciphertext too: kept whatever the settings.
  ['org.matrix.msc3814', secret, false],
];
const elementCustomAccountData: [string, Record<string, unknown>, boolean][] = [
  ['im.vector.analytics', { id: 'abc', pseudonymousAnalyticsOptIn: false }, false],
  ['im.vector.setting.breadcrumbs', { recent_rooms: [ROOM] }, false],
  ['im.vector.web.settings', { SpotlightSearch: { recentSearches: [ROOM] }, autoplayGifs: true }, false],
  ['io.element.recent_emoji', { recent_emoji: [['👍', 3]] }, false],
  ['io.element.matrix_client_information.XNISMWCTMQ', { name: 'Element', version: '1.11.100', url: 'https://app.element.io/' }, false],
  ['org.matrix.msc3890.local_notification_settings.XNISMWCTMQ', { is_silenced: false }, false],
  ['m.org.matrix.custom.backup_disabled', { disabled: false }, false],
  ['m.widgets', { stickerpicker: { content: { type: 'm.stickerpicker', url: 'https://scalar.example', name: 'Stickerpicker' }, state_key: 'stickerpicker', type: 'm.widget', id: 'stickerpicker' } }, false],
  ['im.vector.setting.allowed_widgets', { w1: true }, true],
];

describe('account data: secrets only encrypted, the spec\'s types in their shapes, other types bounded', () => {
  test.each(elementAccountData)('%s as clients keep it passes, also in strict mode', (type, content, inRoom) => {
    expect(() => checkAccountData(defaults, type, content, inRoom)).not.toThrow();
    expect(() => checkAccountData(strict, type, content, inRoom)).not.toThrow();
  });

  test.each(elementCustomAccountData)('%s (outside the spec) passes bounded, and is refused with ALLOW_CUSTOM_ACCOUNT_DATA=off', (type, content, inRoom) => {
    expect(() => checkAccountData(defaults, type, content, inRoom)).not.toThrow();
    expectRefused(() => checkAccountData(strict, type, content, inRoom), 'ALLOW_CUSTOM_ACCOUNT_DATA is off');
  });

  test.each([
    ['a cross-signing key in the clear', 'm.cross_signing.master', { key: 'the private key' }, 'content.key'],
    ['a backup key in the clear', 'm.megolm_backup.v1', { passphrase: 'hunter2' }, 'content.passphrase'],
    ['text beside a secret', 'm.cross_signing.master', { ...secret, note: 'secret' }, 'content.note'],
    ['text inside a secret', 'm.cross_signing.master', { encrypted: { [SSSS_KEY]: { ...secret.encrypted[SSSS_KEY], hint: 'x' } } }, 'hint'],
    ['plain text as the ciphertext', 'm.megolm_backup.v1', { encrypted: { [SSSS_KEY]: { ...secret.encrypted[SSSS_KEY], ciphertext: 'my recovery key' } } }, 'ciphertext'],
    ['a custom type that says encrypted but is not', 'org.example.notes', { encrypted: 'yes', text: 'secret' }, 'content'],
    ['text beside a secret-storage key', `m.secret_storage.key.${SSSS_KEY}`, { algorithm: 'm.secret_storage.v1.aes-hmac-sha2', recovery_key: 'EsTc 1234' }, 'content.recovery_key'],
    ['the old curve25519 secret storage', `m.secret_storage.key.${SSSS_KEY}`, { algorithm: 'm.secret_storage.v1.curve25519-aes-sha2' }, 'content.algorithm'],
    ['a sentence as a secret-storage key id', 'm.secret_storage.key.meet me at noon', { algorithm: 'm.secret_storage.v1.aes-hmac-sha2' }, 'key id'],
    ['a sentence as the default key', 'm.secret_storage.default_key', { key: 'meet me at noon' }, 'content.key'],
    ['a note in m.direct', 'm.direct', { [ALICE]: [ROOM], note: ['x'] }, 'content.note'],
    ['text as a DM room', 'm.direct', { [ALICE]: ['meet me at noon'] }, 'content.'],
    ['a reason for ignoring someone', 'm.ignored_user_list', { ignored_users: { [ALICE]: { reason: 'secret' } } }, 'reason'],
    ['a custom type over 16 KiB', 'im.vector.web.settings', { notes: 'x'.repeat(MAX_CUSTOM_ACCOUNT_DATA_BYTES) }, 'content'],
  ])('%s is refused, naming the field', (_n, type, content, field) => {
    expectRefused(() => checkAccountData(defaults, type, content as Record<string, unknown>, false), field);
  });

  test.each([
    ['text in a tag', 'm.tag', { tags: { 'u.work': { order: 0.1, note: 'secret' } } }, 'note'],
    ['a string order', 'm.tag', { tags: { 'u.work': { order: 'first' } } }, 'order'],
    ['text beside the unread flag', 'm.marked_unread', { unread: true, why: 'secret' }, 'content.why'],
  ])('room account data: %s is refused', (_n, type, content, field) => {
    expectRefused(() => checkAccountData(defaults, type, content as Record<string, unknown>, true), field);
  });
});
