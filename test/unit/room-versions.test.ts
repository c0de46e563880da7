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
import { createEventPdu, createEventReferenceHash } from '../../src/relay/rooms/create-event-hash.js';

const ALL = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];

describe('room-version table', () => {
  test('1 to 12 are served and advertised as stable, as the spec lists them', () => {
    expect(SERVED_ROOM_VERSIONS).toEqual(Object.fromEntries(ALL.map((v) => [v, 'stable'])));
    expect(Object.keys(SERVED_ROOM_VERSIONS)).toEqual(ALL);
    // The spec (v1.16 to v1.19): "Servers SHOULD use room version 12 as the default room version".
    expect(DEFAULT_ROOM_VERSION).toBe('12');
    expect(servedRoomVersion(DEFAULT_ROOM_VERSION)).toBeDefined();
    expect([...RULED_ROOM_VERSIONS]).toEqual(ALL);
  });

  test('unknown versions have no row; a stored room of one is a server bug, not a client error', () => {
    for (const id of ['0', '13', '01', '1.0', '', 'toString', '__proto__', '10 ', 'org.matrix.msc4289']) {
      expect(roomVersion(id)).toBeUndefined();
      expect(servedRoomVersion(id)).toBeUndefined();
    }
    expect(() => roomVersionOf('13')).toThrow(/no rules/);
  });

  // Each flag, and the first version that has it true, from the spec's room version pages.
  const SINCE: Record<string, number> = {
    roomIdIsCreateHash: 12,
    redactsInContent: 11,
    infiniteCreators: 12,
    integerPowerLevels: 10,
    notificationsInPowerRules: 6,
    knock: 7,
    restrictedJoins: 8,
    knockRestricted: 10,
    redactionKeepsAllow: 8,
    redactionKeepsJoinAuthorisedVia: 9,
    redactionV11: 11,
  };
  // Flags true up to a version and false after it.
  const UNTIL: Record<string, number> = { creatorInContent: 10, aliasesAuthRule: 5, redactionKeepsAliases: 5 };

  test.each(ALL)('v%s: every flag as its spec page says', (id) => {
    const row = roomVersionOf(id);
    const n = Number(id);
    for (const [flag, since] of Object.entries(SINCE)) expect([flag, row[flag as keyof typeof row]]).toEqual([flag, n >= since]);
    for (const [flag, until] of Object.entries(UNTIL)) expect([flag, row[flag as keyof typeof row]]).toEqual([flag, n <= until]);
    expect(row.eventIdFormat).toBe(n <= 2 ? 'v1' : n === 3 ? 'v3' : 'v4');
    expect(row.id).toBe(id);
  });

  test('rows are frozen: nothing changes a version at run time', () => {
    for (const id of ALL) expect(Object.isFrozen(roomVersionOf(id))).toBe(true);
  });
});

describe('event ids by the row format', () => {
  test('v1-v2: $ opaque : server name', () => {
    for (const id of ['1', '2']) expect(newEventId(roomVersionOf(id), 'example.org')).toMatch(/^\$[A-Za-z0-9_-]+:example\.org$/);
  });
  test('v3: $ and 43 characters of standard base64 (a sha256 reference hash)', () => {
    expect(newEventId(roomVersionOf('3'), 'example.org')).toMatch(/^\$[A-Za-z0-9+/]{43}$/);
  });
  test('v4-v12: $ and 43 characters of url-safe base64', () => {
    for (const id of ALL.slice(3)) expect(newEventId(roomVersionOf(id), 'example.org')).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
  });
});

describe('v12: the create event reference hash', () => {
  const v12 = roomVersionOf('12');
  const fields = { sender: '@alice:example.org', content: { room_version: '12', 'm.federate': true }, originServerTs: 1_700_000_000_000 };

  test('the PDU has no room_id, no prev_events or auth_events, depth 1 and a content hash', () => {
    const pdu = createEventPdu(fields);
    expect(pdu).not.toHaveProperty('room_id');
    expect(pdu).toMatchObject({ auth_events: [], prev_events: [], depth: 1, type: 'm.room.create', state_key: '', sender: fields.sender, content: fields.content });
    expect((pdu.hashes as { sha256: string }).sha256).toMatch(/^[A-Za-z0-9+/]{43}$/);
  });

  test('43 url-safe characters, determined by the event: any change of sender, content or time changes it', () => {
    const hash = createEventReferenceHash(v12, fields);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createEventReferenceHash(v12, { ...fields })).toBe(hash);
    // Canonical JSON: key order does not matter.
    expect(createEventReferenceHash(v12, { ...fields, content: { 'm.federate': true, room_version: '12' } })).toBe(hash);
    expect(createEventReferenceHash(v12, { ...fields, sender: '@bob:example.org' })).not.toBe(hash);
    expect(createEventReferenceHash(v12, { ...fields, originServerTs: fields.originServerTs + 1 })).not.toBe(hash);
    expect(createEventReferenceHash(v12, { ...fields, content: { room_version: '12' } })).not.toBe(hash);
  });
});
