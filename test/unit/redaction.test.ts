import { describe, expect, test } from '@jest/globals';
import { redactedContent } from '../../src/relay/rooms/events.js';

describe('redaction algorithm', () => {
  test('message content (ciphertext) is removed entirely', () => {
    expect(redactedContent('10', 'm.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'secret', session_id: 's' })).toEqual({});
    expect(redactedContent('11', 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', key: 'x', event_id: '$e' } })).toEqual({});
  });

  test('membership and power levels keep their listed keys', () => {
    expect(redactedContent('11', 'm.room.member', { membership: 'join', displayname: 'Alice', avatar_url: 'mxc://a/b' })).toEqual({ membership: 'join' });
    const pl = { ban: 50, invite: 0, kick: 50, redact: 50, users: { '@a:x': 100 }, notifications: { room: 50 } };
    expect(redactedContent('10', 'm.room.power_levels', pl)).toEqual({ ban: 50, kick: 50, redact: 50, users: { '@a:x': 100 } });
    expect(redactedContent('11', 'm.room.power_levels', pl)).toEqual({ ban: 50, invite: 0, kick: 50, redact: 50, users: { '@a:x': 100 } });
  });

  test('v10 create keeps creator; v11 keeps the whole create content; v11 redaction keeps redacts', () => {
    expect(redactedContent('10', 'm.room.create', { creator: '@a:x', room_version: '10', 'm.federate': true })).toEqual({ creator: '@a:x' });
    expect(redactedContent('11', 'm.room.create', { room_version: '11', 'm.federate': true })).toEqual({ room_version: '11', 'm.federate': true });
    expect(redactedContent('11', 'm.room.redaction', { redacts: '$e', reason: 'spam' })).toEqual({ redacts: '$e' });
    expect(redactedContent('10', 'm.room.redaction', { reason: 'spam' })).toEqual({});
  });

  test('join rules keep join_rule and allow; history visibility its setting; names lose everything', () => {
    expect(redactedContent('11', 'm.room.join_rules', { join_rule: 'restricted', allow: [], extra: 1 })).toEqual({ join_rule: 'restricted', allow: [] });
    expect(redactedContent('11', 'm.room.history_visibility', { history_visibility: 'shared', x: 1 })).toEqual({ history_visibility: 'shared' });
    expect(redactedContent('11', 'm.room.name', { name: 'Secret plans' })).toEqual({});
  });

  const ALL = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
  const n = Number;

  test.each(ALL)('v%s: every event type keeps exactly the keys of its version algorithm', (v) => {
    const member = { membership: 'join', displayname: 'A', join_authorised_via_users_server: '@b:x', third_party_invite: { signed: { mxid: '@a:x' }, display_name: 'A' } };
    const keptMember: Record<string, unknown> = { membership: 'join' };
    if (n(v) >= 9) keptMember.join_authorised_via_users_server = '@b:x';
    if (n(v) >= 11) keptMember.third_party_invite = { signed: { mxid: '@a:x' } };
    expect(redactedContent(v, 'm.room.member', member)).toEqual(keptMember);

    const create = { creator: '@a:x', room_version: v, predecessor: { room_id: '!old:x' }, type: 'm.space' };
    expect(redactedContent(v, 'm.room.create', create)).toEqual(n(v) >= 11 ? create : { creator: '@a:x' });

    const joinRules = { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!r:x' }], extra: 1 };
    expect(redactedContent(v, 'm.room.join_rules', joinRules)).toEqual(n(v) >= 8 ? { join_rule: 'restricted', allow: joinRules.allow } : { join_rule: 'restricted' });

    const pl = { ban: 50, events: {}, events_default: 0, invite: 0, kick: 50, redact: 50, state_default: 50, users: {}, users_default: 0, notifications: { room: 50 }, historical: 100 };
    const { invite: _i, notifications: _n, historical: _h, ...keptPl } = pl;
    expect(redactedContent(v, 'm.room.power_levels', pl)).toEqual(n(v) >= 11 ? { ...keptPl, invite: 0 } : keptPl);

    expect(redactedContent(v, 'm.room.aliases', { aliases: ['#a:x'] })).toEqual(n(v) <= 5 ? { aliases: ['#a:x'] } : {});
    expect(redactedContent(v, 'm.room.redaction', { redacts: '$e', reason: 'r' })).toEqual(n(v) >= 11 ? { redacts: '$e' } : {});
    expect(redactedContent(v, 'm.room.history_visibility', { history_visibility: 'joined', x: 1 })).toEqual({ history_visibility: 'joined' });
    expect(redactedContent(v, 'm.room.encrypted', { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'c', session_id: 's' })).toEqual({});
    expect(redactedContent(v, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' })).toEqual({});
  });
});
