/** Push rule evaluation without a server: keys, globs, conditions, kind order and the default rules on ciphertext. */
import { describe, expect, test } from '@jest/globals';
import { conditionMatches, evaluate, pushGlobMatches, splitKey, valueAt, type EvaluationContext } from '../../src/relay/push-rules/evaluate.js';
import { render } from '../../src/relay/push-rules/rules.js';

const ctx = (over: Partial<EvaluationContext> = {}): EvaluationContext => ({ userId: '@bob:x', memberCount: 3, senderPowerLevel: 0, notificationLevel: () => 50, ...over });
const encrypted = { type: 'm.room.encrypted', sender: '@alice:x', room_id: '!r:x', event_id: '$e', content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AAAA', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } } };

describe('keys and globs', () => {
  test('dotted keys with escapes', () => {
    expect(splitKey('content.m\\.relates_to.rel_type')).toEqual(['content', 'm.relates_to', 'rel_type']);
    expect(splitKey('a\\\\b.c')).toEqual(['a\\b', 'c']);
    expect(valueAt(encrypted, 'content.m\\.relates_to.rel_type')).toBe('m.thread');
    expect(valueAt(encrypted, 'content.nothing.here')).toBeUndefined();
  });
  test('* and ?, case-insensitive, whole value, linear on long text', () => {
    expect(pushGlobMatches('m.room.*', 'M.ROOM.encrypted')).toBe(true);
    expect(pushGlobMatches('@?lice:x', '@alice:x')).toBe(true);
    expect(pushGlobMatches('@?lice', '@alice:x')).toBe(false);
    expect(pushGlobMatches('*a?c*', 'xxabcxx')).toBe(true);
    expect(pushGlobMatches('*a?c*', 'xxacxx')).toBe(false);
    const long = 'a'.repeat(100_000);
    expect(pushGlobMatches(`${'*a'.repeat(50)}b`, long)).toBe(false);
    expect(pushGlobMatches(`${'*?'.repeat(50)}b`, long)).toBe(false);
  });
});

describe('conditions', () => {
  test('room_member_count operators; sender_notification_permission; unknown kinds never match', () => {
    for (const [is, n, expected] of [['2', 2, true], ['==2', 3, false], ['<3', 2, true], ['>=3', 3, true], ['>3', 3, false], ['<=1', 2, false], ['x', 2, false]] as const) {
      expect(conditionMatches({ kind: 'room_member_count', is }, encrypted, ctx({ memberCount: n }))).toBe(expected);
    }
    expect(conditionMatches({ kind: 'sender_notification_permission', key: 'room' }, encrypted, ctx({ senderPowerLevel: 50 }))).toBe(true);
    expect(conditionMatches({ kind: 'sender_notification_permission', key: 'room' }, encrypted, ctx({ senderPowerLevel: 49 }))).toBe(false);
    expect(conditionMatches({ kind: 'contains_display_name' }, encrypted, ctx())).toBe(false);
    expect(conditionMatches({ kind: 'org.example.future' }, encrypted, ctx())).toBe(false);
    expect(conditionMatches({ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.thread' }, encrypted, ctx())).toBe(true);
    expect(conditionMatches({ kind: 'event_property_contains', key: 'content.list', value: 1 }, { content: { list: [1, 2] } }, ctx())).toBe(true);
    expect(conditionMatches({ kind: 'event_match', key: 'content.body', pattern: '*' }, encrypted, ctx())).toBe(false);
  });
});

describe('the defaults on ciphertext', () => {
  const defaults = render('@bob:x', [], []);
  test('3 members: .m.rule.encrypted (notify); 2 members: one-to-one (notify, sound); reactions and member events: nothing', () => {
    expect(evaluate(defaults, encrypted, ctx())).toEqual({ notify: true, highlight: false, actions: ['notify'] });
    expect(evaluate(defaults, encrypted, ctx({ memberCount: 2 }))?.actions).toEqual(['notify', { set_tweak: 'sound', value: 'default' }]);
    expect(evaluate(defaults, { ...encrypted, type: 'm.reaction' }, ctx())?.notify).toBe(false);
    expect(evaluate(defaults, { type: 'm.room.member', state_key: '@carol:x', content: { membership: 'join' } }, ctx())?.notify).toBe(false);
    const invite = evaluate(defaults, { type: 'm.room.member', state_key: '@bob:x', content: { membership: 'invite' } }, ctx());
    expect(invite).toMatchObject({ notify: true, highlight: false });
    expect(evaluate(defaults, { type: 'm.room.tombstone', state_key: '', content: {} }, ctx())).toMatchObject({ notify: true, highlight: true });
  });
  test('the master rule, when enabled, silences everything; a user override comes before the defaults', () => {
    const master = render('@bob:x', [], [{ kind: 'override', ruleId: '.m.rule.master', enabled: true, actions: null }]);
    expect(evaluate(master, encrypted, ctx())?.notify).toBe(false);
    const own = render('@bob:x', [{ userId: '@bob:x', kind: 'override', ruleId: 'loud', position: 0, enabled: true, actions: ['notify', { set_tweak: 'highlight' }], conditions: [{ kind: 'event_match', key: 'sender', pattern: '@alice:x' }], pattern: null }], []);
    expect(evaluate(own, encrypted, ctx())).toMatchObject({ notify: true, highlight: true });
  });
});
