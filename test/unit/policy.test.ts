import { describe, expect, test } from '@jest/globals';
import { checkMessageEvent, checkStateEvent, MEGOLM, type PolicySettings } from '../../src/relay/policy.js';
import { MatrixError } from '../../src/errors.js';

const defaults: PolicySettings = {
  allowPlaintextMessages: false,
  allowPlaintextReactions: true,
  allowPlaintextRedactions: true,
  refusePlaintextRoomMetadata: false,
};
const strict: PolicySettings = { ...defaults, allowPlaintextReactions: false, allowPlaintextRedactions: false, refusePlaintextRoomMetadata: true };

const megolm = { algorithm: MEGOLM, ciphertext: 'AwgAEnAC...', session_id: 'sess', sender_key: 'key', device_id: 'DEV' };
const reaction = { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$e', key: '👍' } };

function refusal(fn: () => void): MatrixError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MatrixError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('message events', () => {
  test('well-formed Megolm passes, also with a clear m.relates_to', () => {
    expect(() => checkMessageEvent(defaults, 'm.room.encrypted', megolm)).not.toThrow();
    expect(() => checkMessageEvent(strict, 'm.room.encrypted', { ...megolm, 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } })).not.toThrow();
  });

  test.each([
    ['plaintext m.room.message', 'm.room.message', { msgtype: 'm.text', body: 'hello' }],
    ['Olm in a room', 'm.room.encrypted', { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: {} }],
    ['missing ciphertext', 'm.room.encrypted', { algorithm: MEGOLM, session_id: 's' }],
    ['missing session id', 'm.room.encrypted', { algorithm: MEGOLM, ciphertext: 'x' }],
    ['non-string sender_key', 'm.room.encrypted', { ...megolm, sender_key: 5 }],
    ['custom event type', 'org.example.custom', { anything: true }],
  ])('%s is refused with 403 M_FORBIDDEN saying the server relays only encrypted messages', (_n, type, content) => {
    const err = refusal(() => checkMessageEvent(defaults, type, content as Record<string, unknown>));
    expect([err.status, err.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(err.message).toContain('only relays end-to-end encrypted messages');
  });

  test('reactions and redactions are allowed by default and refused in strict mode', () => {
    expect(() => checkMessageEvent(defaults, 'm.reaction', reaction)).not.toThrow();
    expect(() => checkMessageEvent(defaults, 'm.room.redaction', { redacts: '$e' })).not.toThrow();
    expect(refusal(() => checkMessageEvent(strict, 'm.reaction', reaction)).errcode).toBe('M_FORBIDDEN');
    expect(refusal(() => checkMessageEvent(strict, 'm.room.redaction', { redacts: '$e' })).errcode).toBe('M_FORBIDDEN');
  });

  test('a reaction cannot smuggle other content in the clear', () => {
    expect(refusal(() => checkMessageEvent(defaults, 'm.reaction', { ...reaction, body: 'secret' })).errcode).toBe('M_FORBIDDEN');
    expect(refusal(() => checkMessageEvent(defaults, 'm.reaction', { 'm.relates_to': { rel_type: 'm.reference', event_id: '$e' } })).errcode).toBe(
      'M_FORBIDDEN',
    );
  });

  test('ALLOW_PLAINTEXT_MESSAGES lets plaintext through (conformance suites only)', () => {
    expect(() => checkMessageEvent({ ...defaults, allowPlaintextMessages: true }, 'm.room.message', { msgtype: 'm.text', body: 'hi' })).not.toThrow();
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
    for (const type of ['m.room.name', 'm.room.topic', 'm.room.avatar']) {
      expect(() => checkStateEvent(defaults, type, { name: 'x' }, undefined)).not.toThrow();
      expect(refusal(() => checkStateEvent(strict, type, { name: 'x' }, undefined)).errcode).toBe('M_FORBIDDEN');
    }
    expect(() => checkStateEvent(strict, 'm.room.member', { membership: 'join' }, undefined)).not.toThrow();
  });
});
