/** lib/identifiers.ts: the identifier grammar every layer uses, on the spec's examples and on what must be refused. */
import { describe, expect, test } from '@jest/globals';
import { isDeviceId, isEventId, isEventType, isRoomAlias, isRoomId, isServerName, isStateKey, isTxnId, isUserId } from '../../src/lib/identifiers.js';

describe('identifier grammar', () => {
  test('server names: host [":" port]', () => {
    for (const ok of ['matrix.org', 'matrix.org:8888', '1.2.3.4', '1.2.3.4:1234', '[1234:5678::abcd]', '[1234:5678::abcd]:5678', 'test.local']) expect(isServerName(ok)).toBe(true);
    for (const bad of ['', 'a b', 'matrix.org:', 'matrix.org:123456', '[zz]', 'ex ample.org', 'a/b', 'a\u0000b']) expect(isServerName(bad)).toBe(false);
  });

  test('user ids', () => {
    for (const ok of ['@alice:example.org', '@a.b_c=d/e+f-g:test.local', '@Historical!Id:example.org', '@x:[::1]:8448']) expect(isUserId(ok)).toBe(true);
    for (const bad of ['alice', '@', '@:example.org', '@alice', '@alice:', '@al ice:example.org', '@a\u0000:x', '@a\tb:x', `@${'a'.repeat(250)}:example.org`, '#alice:example.org', 7, null]) {
      expect(isUserId(bad)).toBe(false);
    }
  });

  test('room ids, with or without a server name (room version 12 ids have none)', () => {
    for (const ok of ['!abc:example.org', '!abc', '!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM']) expect(isRoomId(ok)).toBe(true);
    for (const bad of ['!', '!:example.org', 'abc:example.org', '!a b:x', '!abc:', '!abc:bad host', `!${'a'.repeat(255)}`]) expect(isRoomId(bad)).toBe(false);
  });

  test('event ids, aliases, types, state keys, transaction and device ids', () => {
    expect(isEventId('$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk')).toBe(true);
    expect(isEventId('$')).toBe(false);
    expect(isEventId('$a b')).toBe(false);
    expect(isRoomAlias('#room:example.org')).toBe(true);
    expect(isRoomAlias('#room')).toBe(false);
    expect(isRoomAlias('#a:b:c')).toBe(false);
    expect(isEventType('m.room.message')).toBe(true);
    expect(isEventType('')).toBe(false);
    expect(isEventType('a'.repeat(256))).toBe(false);
    expect(isEventType('é'.repeat(128))).toBe(false);
    expect(isStateKey('')).toBe(true);
    expect(isStateKey('k'.repeat(256))).toBe(false);
    expect(isTxnId('m1700000000.0')).toBe(true);
    expect(isTxnId('a\nb')).toBe(false);
    expect(isDeviceId('ABCDEFGHIJ')).toBe(true);
    expect(isDeviceId('a b')).toBe(false);
    expect(isDeviceId('')).toBe(false);
  });
});
