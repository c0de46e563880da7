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
});
