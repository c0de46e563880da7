/** The room-version table: what is served and advertised, the flags each row holds, and the code that reads them. */
import { describe, expect, test } from '@jest/globals';
import {
  DEFAULT_ROOM_VERSION,
  RULED_ROOM_VERSIONS,
  SERVED_ROOM_VERSIONS,
  roomVersion,
  roomVersionOf,
  servedRoomVersion,
} from '../../src/relay/rooms/room-versions.js';
import { newEventId } from '../../src/relay/rooms/events.js';

describe('room-version table', () => {
  test('10 and 11 are served (stable); 12 has rules but is neither served nor advertised', () => {
    expect(SERVED_ROOM_VERSIONS).toEqual({ '10': 'stable', '11': 'stable' });
    expect(DEFAULT_ROOM_VERSION).toBe('10');
    expect(servedRoomVersion(DEFAULT_ROOM_VERSION)).toBeDefined();
    expect([...RULED_ROOM_VERSIONS].sort()).toEqual(['10', '11', '12']);
    expect(roomVersion('12')).toBeDefined();
    expect(servedRoomVersion('12')).toBeUndefined();
  });

  test('unknown versions have no row; a stored room of one is a server bug, not a client error', () => {
    for (const id of ['1', '9', '13', '', 'toString', '__proto__', '10 ']) {
      expect(roomVersion(id)).toBeUndefined();
      expect(servedRoomVersion(id)).toBeUndefined();
    }
    expect(() => roomVersionOf('9')).toThrow(/no rules/);
  });

  test.each([
    ['10', { creatorInContent: true, redactsInContent: false, infiniteCreators: false, redactionV11: false }],
    ['11', { creatorInContent: false, redactsInContent: true, infiniteCreators: false, redactionV11: true }],
    ['12', { creatorInContent: false, redactsInContent: true, infiniteCreators: true, redactionV11: true }],
  ])('v%s: the flags that differ', (id, flags) => {
    expect(roomVersionOf(id)).toMatchObject(flags);
  });

  test('flags every row shares (versions 10-12)', () => {
    for (const id of RULED_ROOM_VERSIONS) {
      expect(roomVersionOf(id)).toMatchObject({
        id,
        eventIdFormat: 'v4',
        integerPowerLevels: true,
        knock: true,
        restrictedJoins: true,
        knockRestricted: true,
        redactionKeepsAliases: false,
        redactionKeepsAllow: true,
        redactionKeepsJoinAuthorisedVia: true,
      });
    }
  });

  test('rows are frozen: nothing changes a version at run time', () => {
    expect(Object.isFrozen(roomVersionOf('10'))).toBe(true);
  });
});

describe('event ids by the row format', () => {
  const base = roomVersionOf('10');
  test('v4: $ and 43 url-safe base64 characters', () => {
    expect(newEventId(base, 'example.org')).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
  });
  test('v3: standard base64; v1: an opaque local part and the server name', () => {
    expect(newEventId({ ...base, eventIdFormat: 'v3' }, 'example.org')).toMatch(/^\$[A-Za-z0-9+/]{43}$/);
    expect(newEventId({ ...base, eventIdFormat: 'v1' }, 'example.org')).toMatch(/^\$[A-Za-z0-9_-]+:example\.org$/);
  });
});
