import { describe, expect, test } from '@jest/globals';
import {
  actionPowerLevel,
  allowedRoomIds,
  checkEventAuth,
  joinRuleOf,
  membershipOf,
  notificationPowerLevel,
  pickJoinAuthoriser,
  requiredPowerLevel,
  roomCreators,
  stateFromEvents,
  userPowerLevel,
  type AuthEvent,
  type AuthOptions,
  type RoomState,
} from '../../src/relay/rooms/auth-rules.js';
import { MatrixError } from '../../src/errors.js';

// Alice created the room (100), Bob moderates (50), Carol is a plain member (0), Dave is an outsider.
const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';
const CAROL = '@carol:example.org';
const DAVE = '@dave:example.org';
const VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
/** Versions 1-10 name the creator in content.creator. */
const creatorInContent = (version: string) => Number(version) <= 10;

type Json = Record<string, unknown>;

function createEvent(version: string, sender = ALICE, extra: Json = {}): AuthEvent {
  return { type: 'm.room.create', state_key: '', sender, content: { room_version: version, ...(creatorInContent(version) ? { creator: sender } : {}), ...extra } };
}
const member = (userId: string, membership: string, sender = userId, extra: Json = {}): AuthEvent => ({
  type: 'm.room.member',
  state_key: userId,
  sender,
  content: { membership, ...extra },
});
const powerLevels = (content: Json, sender = ALICE): AuthEvent => ({ type: 'm.room.power_levels', state_key: '', sender, content });
const joinRules = (joinRule: string, extra: Json = {}): AuthEvent => ({ type: 'm.room.join_rules', state_key: '', sender: ALICE, content: { join_rule: joinRule, ...extra } });
const stateEvent = (type: string, sender: string, content: Json = {}, stateKey = ''): AuthEvent => ({ type, state_key: stateKey, sender, content });
const message = (sender: string, type = 'm.room.encrypted', content: Json = { algorithm: 'm.megolm.v1.aes-sha2' }): AuthEvent => ({ type, sender, content });

/** In v12 the creator is infinite and may not be listed, so the default users map leaves Alice out there. */
const defaultUsers = (version: string): Json => (version === '12' ? { [BOB]: 50 } : { [ALICE]: 100, [BOB]: 50 });

interface Setup {
  version?: string;
  /** m.room.power_levels content; null for none. Default: Alice 100 (not in v12), Bob 50, spec defaults otherwise. */
  powerLevels?: Json | null;
  /** Extra keys merged into the default power levels content. */
  levels?: Json;
  /** Join rule; null for no m.room.join_rules event. */
  joinRule?: string | null;
  allow?: unknown;
  /** Memberships besides Alice's join; default Bob and Carol joined. */
  members?: Record<string, string>;
  extra?: AuthEvent[];
}

/** A small room: Alice created and joined it, then the power levels, join rules and other members. */
function room(setup: Setup = {}): RoomState {
  const version = setup.version ?? '11';
  const events: AuthEvent[] = [createEvent(version), member(ALICE, 'join')];
  const pl = setup.powerLevels === undefined ? { users: defaultUsers(version), ...setup.levels } : setup.powerLevels;
  if (pl) events.push(powerLevels(pl));
  const joinRule = setup.joinRule === undefined ? 'invite' : setup.joinRule;
  if (joinRule) events.push(joinRules(joinRule, setup.allow === undefined ? {} : { allow: setup.allow }));
  for (const [userId, membership] of Object.entries(setup.members ?? { [BOB]: 'join', [CAROL]: 'join' })) events.push(member(userId, membership, ALICE));
  return stateFromEvents([...events, ...(setup.extra ?? [])]);
}

async function allowed(event: AuthEvent, state: RoomState, version = '11', opts?: AuthOptions): Promise<void> {
  await expect(checkEventAuth(version, event, state, opts)).resolves.toBeUndefined();
}

async function refusal(event: AuthEvent, state: RoomState, version = '11', opts?: AuthOptions): Promise<MatrixError> {
  const err = await checkEventAuth(version, event, state, opts).then(
    () => new Error(`expected ${event.type} from ${event.sender} to be refused`),
    (e: unknown) => e,
  );
  if (!(err instanceof MatrixError)) throw err;
  return err;
}

/** Asserts a 403 M_FORBIDDEN whose reason contains `reason`. */
async function refused(event: AuthEvent, state: RoomState, reason: string | RegExp, version = '11', opts?: AuthOptions): Promise<void> {
  const err = await refusal(event, state, version, opts);
  expect([err.status, err.errcode]).toEqual([403, 'M_FORBIDDEN']);
  expect(err.message).toMatch(reason);
}

describe('room state helpers', () => {
  test('stateFromEvents keeps the last event per (type, state_key) and skips message events', () => {
    const state = stateFromEvents([member(BOB, 'invite', ALICE), member(BOB, 'join'), message(BOB)]);
    expect(state.get('m.room.member', BOB)?.content.membership).toBe('join');
    expect(state.get('m.room.encrypted', '')).toBeUndefined();
  });

  test('membershipOf is leave without a member event; joinRuleOf is invite without a join rules event', () => {
    const state = room({ joinRule: null, members: { [BOB]: 'ban' } });
    expect(membershipOf(state, ALICE)).toBe('join');
    expect(membershipOf(state, BOB)).toBe('ban');
    expect(membershipOf(state, DAVE)).toBe('leave');
    expect(joinRuleOf(state)).toBe('invite');
    expect(joinRuleOf(room({ joinRule: 'public' }))).toBe('public');
  });

  test('allowedRoomIds keeps only m.room_membership conditions with a room id', () => {
    const allow = [{ type: 'm.room_membership', room_id: '!space:example.org' }, { type: 'm.other', room_id: '!x:example.org' }, { type: 'm.room_membership' }, 'junk'];
    expect(allowedRoomIds(room({ joinRule: 'restricted', allow }))).toEqual(['!space:example.org']);
    expect(allowedRoomIds(room({ joinRule: 'restricted', allow: 'nope' }))).toEqual([]);
  });

  test('the creator: v10 content.creator, v11 the create sender, v12 the sender plus additional_creators', () => {
    const odd = (version: string) => stateFromEvents([{ ...createEvent(version, BOB), content: { room_version: version, creator: ALICE, additional_creators: [CAROL] } }]);
    expect(roomCreators(odd('10'))).toEqual([ALICE]);
    expect(roomCreators(odd('11'))).toEqual([BOB]);
    expect(roomCreators(odd('12'))).toEqual([BOB, CAROL]);
    expect(roomCreators(stateFromEvents([]))).toEqual([]);
  });
});

describe('power level helpers', () => {
  test('without m.room.power_levels the creator has 100 and everyone else 0 (v10 creator field, v11 sender)', () => {
    const odd = (version: string) => stateFromEvents([{ ...createEvent(version, BOB), content: { room_version: version, creator: ALICE } }]);
    expect([userPowerLevel(odd('10'), ALICE), userPowerLevel(odd('10'), BOB)]).toEqual([100, 0]);
    expect([userPowerLevel(odd('11'), ALICE), userPowerLevel(odd('11'), BOB)]).toEqual([0, 100]);
  });

  test('users entries, then users_default, then 0', () => {
    expect(userPowerLevel(room(), BOB)).toBe(50);
    expect(userPowerLevel(room(), CAROL)).toBe(0);
    expect(userPowerLevel(room({ levels: { users_default: 5 } }), CAROL)).toBe(5);
    expect(userPowerLevel(room({ powerLevels: { users: {} } }), ALICE)).toBe(0);
  });

  test('v12: creators (also additional ones) are infinite, with or without power levels; others default to 0', () => {
    const state = stateFromEvents([createEvent('12', ALICE, { additional_creators: [BOB] }), member(ALICE, 'join')]);
    expect(userPowerLevel(state, ALICE)).toBe(Infinity);
    expect(userPowerLevel(state, BOB)).toBe(Infinity);
    expect(userPowerLevel(state, CAROL)).toBe(0);
    expect(userPowerLevel(room({ version: '12', levels: { users_default: 20 } }), ALICE)).toBe(Infinity);
    expect(userPowerLevel(room({ version: '12', levels: { users_default: 20 } }), CAROL)).toBe(20);
  });

  test('required levels: events map, else state_default (50) or events_default (0)', () => {
    const none = room({ powerLevels: null });
    expect([requiredPowerLevel(none, 'm.room.name', true), requiredPowerLevel(none, 'm.room.encrypted', false)]).toEqual([50, 0]);
    const set = room({ levels: { state_default: 40, events_default: 10, events: { 'm.room.name': 20, 'm.reaction': 30 } } });
    expect(requiredPowerLevel(set, 'm.room.name', true)).toBe(20);
    expect(requiredPowerLevel(set, 'm.room.topic', true)).toBe(40);
    expect(requiredPowerLevel(set, 'm.reaction', false)).toBe(30);
    expect(requiredPowerLevel(set, 'm.room.encrypted', false)).toBe(10);
  });

  test('action levels default to invite 0, kick/ban/redact 50; @room notifications to 50', () => {
    const none = room({ powerLevels: null });
    expect((['invite', 'kick', 'ban', 'redact'] as const).map((a) => actionPowerLevel(none, a))).toEqual([0, 50, 50, 50]);
    const set = room({ levels: { invite: 10, kick: 20, ban: 30, redact: 40, notifications: { room: 60 } } });
    expect((['invite', 'kick', 'ban', 'redact'] as const).map((a) => actionPowerLevel(set, a))).toEqual([10, 20, 30, 40]);
    expect([notificationPowerLevel(none), notificationPowerLevel(set)]).toEqual([50, 60]);
  });
});

describe('m.room.create (rule 1)', () => {
  const empty = stateFromEvents([]);

  test('v10 needs content.creator, and we require it to be the sender', async () => {
    await allowed(createEvent('10'), empty, '10');
    await refused({ ...createEvent('10'), content: { room_version: '10' } }, empty, /needs content.creator/, '10');
    await refused(createEvent('10', BOB, { creator: ALICE }), empty, /content.creator set to its sender/, '10');
  });

  test('v11 and v12 need no creator: the sender is the creator', async () => {
    await allowed(createEvent('11'), empty, '11');
    await allowed(createEvent('12'), empty, '12');
  });

  test.each(VERSIONS)('v%s: room_version must be present and this room version', async (version) => {
    await refused({ ...createEvent(version), content: { creator: ALICE } }, empty, `room_version "${version}"`, version);
    await refused(createEvent(version, ALICE, { room_version: version === '9' ? '8' : '9' }), empty, /room_version/, version);
  });

  test('only as the first event, and with an empty state_key', async () => {
    await refused(createEvent('11'), room(), /already has an m.room.create/);
    await refused({ ...createEvent('11'), state_key: 'x' }, empty, /empty state_key/);
    await refused({ ...createEvent('11'), state_key: undefined }, empty, /empty state_key/);
  });

  test('v12: additional_creators must be an array of user ids', async () => {
    await allowed(createEvent('12', ALICE, { additional_creators: [BOB, CAROL] }), empty, '12');
    await refused(createEvent('12', ALICE, { additional_creators: BOB }), empty, /additional_creators/, '12');
    await refused(createEvent('12', ALICE, { additional_creators: ['bob'] }), empty, /additional_creators/, '12');
    await refused(createEvent('12', ALICE, { additional_creators: [42] }), empty, /additional_creators/, '12');
    // Before v12 the field means nothing and is not validated.
    await allowed(createEvent('11', ALICE, { additional_creators: 'whatever' }), empty, '11');
  });

  test('an unsupported room version is 400 M_UNSUPPORTED_ROOM_VERSION', async () => {
    const err = await refusal(createEvent('13'), empty, '13');
    expect([err.status, err.errcode]).toEqual([400, 'M_UNSUPPORTED_ROOM_VERSION']);
  });

  test('any other event needs a room with an m.room.create event', async () => {
    await refused(member(ALICE, 'join'), empty, /no m.room.create/);
  });

  test('a room version that disagrees with the create event is a bug, not a refusal', async () => {
    await expect(checkEventAuth('10', message(ALICE), room({ version: '11' }))).rejects.toThrow(/room version 10 for a room of version 11/);
  });
});

describe.each(VERSIONS)('creating a room, version %s', (version) => {
  test('create, creator join, power levels, join rules, history visibility, encryption: each allowed in turn', async () => {
    const events: AuthEvent[] = [];
    const add = async (event: AuthEvent) => {
      await allowed(event, stateFromEvents(events), version);
      events.push(event);
    };
    await add(createEvent(version));
    await add(member(ALICE, 'join'));
    await add(powerLevels({ users: version === '12' ? {} : { [ALICE]: 100 }, events: { 'm.room.tombstone': 150 } }));
    await add(joinRules('invite'));
    await add(stateEvent('m.room.history_visibility', ALICE, { history_visibility: 'shared' }));
    await add(stateEvent('m.room.encryption', ALICE, { algorithm: 'm.megolm.v1.aes-sha2' }));
    await add(member(BOB, 'invite', ALICE));
    await add(member(BOB, 'join'));
  });

  test('4.3.1: only the creator may join right after m.room.create', async () => {
    const justCreated = stateFromEvents([createEvent(version)]);
    await allowed(member(ALICE, 'join'), justCreated, version);
    await refused(member(BOB, 'join'), justCreated, /invite-only/, version);
    await refused(message(ALICE), justCreated, /not joined/, version);
  });

  test('4.3.1 is the first join only: a creator who left or was banned is not let back in by it', async () => {
    const after = (membership: string) => stateFromEvents([createEvent(version), member(ALICE, 'join'), member(BOB, 'join'), member(ALICE, membership, BOB)]);
    await refused(member(ALICE, 'join'), after('leave'), /invite-only/, version);
    await refused(member(ALICE, 'join'), after('ban'), 'You are banned from this room.', version);
  });
});

describe('join (rule 4.3)', () => {
  test('4.3.2: nobody can join on behalf of someone else, even in a public room', async () => {
    await refused(member(DAVE, 'join', ALICE), room({ joinRule: 'public' }), `You cannot join on behalf of ${DAVE}`);
  });

  test('4.3.3: a banned user cannot join, even a public room or with a restricted allowance', async () => {
    await refused(member(DAVE, 'join'), room({ joinRule: 'public', members: { [DAVE]: 'ban' } }), 'You are banned from this room.');
    const restricted = room({ joinRule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!space:example.org' }], members: { [DAVE]: 'ban' } });
    await refused(member(DAVE, 'join', DAVE, { join_authorised_via_users_server: ALICE }), restricted, /banned/, '11', { isJoinedToRoom: () => true });
  });

  test.each(['invite', 'knock'])('4.3.4: join rule %s admits the invited and the joined only', async (joinRule) => {
    await allowed(member(DAVE, 'join'), room({ joinRule, members: { [DAVE]: 'invite' } }));
    await allowed(member(CAROL, 'join', CAROL, { displayname: 'Carol' }), room({ joinRule }));
    await refused(member(DAVE, 'join'), room({ joinRule }), `This room is invite-only (join rule "${joinRule}") and you have not been invited.`);
    await refused(member(DAVE, 'join'), room({ joinRule, members: { [DAVE]: 'knock' } }), /not been invited/);
    await refused(member(DAVE, 'join'), room({ joinRule, members: { [DAVE]: 'leave' } }), /not been invited/);
  });

  test('without an m.room.join_rules event the room is invite-only', async () => {
    await refused(member(DAVE, 'join'), room({ joinRule: null }), /invite-only/);
    await allowed(member(DAVE, 'join'), room({ joinRule: null, members: { [DAVE]: 'invite' } }));
  });

  test('4.3.6: anyone not banned can join a public room, also after leaving', async () => {
    await allowed(member(DAVE, 'join'), room({ joinRule: 'public' }));
    await allowed(member(DAVE, 'join'), room({ joinRule: 'public', members: { [DAVE]: 'leave' } }));
  });

  test('4.3.7: other join rules (private, unknown) admit nobody, not even the invited', async () => {
    await refused(member(DAVE, 'join'), room({ joinRule: 'private', members: { [DAVE]: 'invite' } }), 'This room cannot be joined (join rule "private").');
    await refused(member(DAVE, 'join'), room({ joinRule: 'org.example.rule' }), /cannot be joined/);
  });
});

describe('restricted joins (rule 4.3.5)', () => {
  const SPACE = '!space:example.org';
  const allow = [{ type: 'm.room_membership', room_id: '!other:example.org' }, { type: 'm.room_membership', room_id: SPACE }];
  const inSpace: AuthOptions = { isJoinedToRoom: (userId, roomId) => userId === DAVE && roomId === SPACE };
  const inSpaceAsync: AuthOptions = { isJoinedToRoom: async (userId, roomId) => userId === DAVE && roomId === SPACE };
  const joinVia = (via?: string) => member(DAVE, 'join', DAVE, via === undefined ? {} : { join_authorised_via_users_server: via });

  test.each(['restricted', 'knock_restricted'])('%s: invited or joined users join without conditions', async (joinRule) => {
    await allowed(joinVia(), room({ joinRule, allow, members: { [DAVE]: 'invite' } }));
    await allowed(member(CAROL, 'join'), room({ joinRule, allow }));
  });

  test.each(['restricted', 'knock_restricted'])('%s: a member of an allowed room joins, authorised by a joined member who can invite', async (joinRule) => {
    await allowed(joinVia(ALICE), room({ joinRule, allow }), '11', inSpace);
    await allowed(joinVia(CAROL), room({ version: '10', joinRule, allow }), '10', inSpaceAsync);
  });

  test('a user in none of the allowed rooms, or with no way to ask, is refused', async () => {
    const reason = 'This room is restricted: you can join it only when invited or as a member of a room it allows.';
    await refused(joinVia(ALICE), room({ joinRule: 'restricted', allow }), reason, '11', { isJoinedToRoom: () => false });
    await refused(joinVia(ALICE), room({ joinRule: 'restricted', allow }), reason, '11');
    await refused(joinVia(ALICE), room({ joinRule: 'restricted', allow: [] }), reason, '11', { isJoinedToRoom: () => true });
    await refused(joinVia(ALICE), room({ joinRule: 'restricted' }), reason, '11', { isJoinedToRoom: () => true });
  });

  test('join_authorised_via_users_server must name a joined member with the invite level', async () => {
    const reason = /join_authorised_via_users_server naming a joined member who can invite/;
    await refused(joinVia(), room({ joinRule: 'restricted', allow }), reason, '11', inSpace);
    await refused(joinVia(DAVE), room({ joinRule: 'restricted', allow }), reason, '11', inSpace);
    await refused(joinVia(BOB), room({ joinRule: 'restricted', allow, members: { [BOB]: 'invite' } }), reason, '11', inSpace);
    await refused(joinVia(CAROL), room({ joinRule: 'restricted', allow, levels: { invite: 50 } }), reason, '11', inSpace);
    await allowed(joinVia(BOB), room({ joinRule: 'restricted', allow, levels: { invite: 50 } }), '11', inSpace);
  });

  test('pickJoinAuthoriser picks the most powerful joined member who can invite', () => {
    const state = room({ levels: { invite: 50 }, members: { [BOB]: 'join', [CAROL]: 'join', [DAVE]: 'invite' } });
    expect(pickJoinAuthoriser(state, [CAROL, BOB, ALICE])).toBe(ALICE);
    expect(pickJoinAuthoriser(state, [CAROL, BOB])).toBe(BOB);
    expect(pickJoinAuthoriser(state, [CAROL, DAVE])).toBeUndefined();
  });
});

describe('invite (rule 4.4)', () => {
  test('a joined member invites with the invite level (default 0)', async () => {
    await allowed(member(DAVE, 'invite', CAROL), room());
  });

  test('4.4.1: third-party invites are refused', async () => {
    const signed = { mxid: DAVE, token: 'tok', signatures: {} };
    await refused(member(DAVE, 'invite', ALICE, { third_party_invite: { display_name: 'd', signed } }), room(), /Third-party invites are not supported/);
  });

  test('4.4.2: the sender must be joined', async () => {
    await refused(member(CAROL, 'invite', DAVE), room({ members: { [DAVE]: 'invite' } }), 'You must be joined to the room to invite (your membership is invite).');
    await refused(member(CAROL, 'invite', DAVE), room(), /your membership is leave/);
  });

  test('4.4.3: the target cannot be joined or banned', async () => {
    await refused(member(CAROL, 'invite', BOB), room(), `${CAROL} is already in the room.`);
    await refused(member(DAVE, 'invite', ALICE), room({ members: { [DAVE]: 'ban' } }), /banned from this room; unban them/);
  });

  test('invited, knocking and departed users can be (re-)invited', async () => {
    for (const membership of ['invite', 'knock', 'leave']) await allowed(member(DAVE, 'invite', CAROL), room({ members: { [CAROL]: 'join', [DAVE]: membership } }));
  });

  test('4.4.4-5: the sender needs the invite level', async () => {
    const state = room({ levels: { invite: 50 } });
    await refused(member(DAVE, 'invite', CAROL), state, 'You are not allowed to invite: it needs power level 50 and you have 0.');
    await allowed(member(DAVE, 'invite', BOB), state);
  });
});

describe('leave and kick (rule 4.5)', () => {
  test.each(['join', 'invite', 'knock'])('4.5.1: a user leaves from %s', async (membership) => {
    await allowed(member(DAVE, 'leave'), room({ members: { [DAVE]: membership } }));
  });

  test('4.5.1: leaving needs a membership to leave; the banned cannot unban themselves', async () => {
    await refused(member(DAVE, 'leave'), room(), 'You cannot leave this room: you are not in it (your membership is leave).');
    await refused(member(DAVE, 'leave'), room({ members: { [DAVE]: 'ban' } }), 'You are banned from this room; only a moderator can lift the ban.');
  });

  test('4.5.4: kicking needs the kick level and a power level above the target', async () => {
    await allowed(member(CAROL, 'leave', BOB), room());
    await refused(member(BOB, 'leave', CAROL), room(), `You are not allowed to kick ${BOB}: it needs power level 50 and you have 0.`);
    await refused(member(ALICE, 'leave', BOB), room(), `You cannot kick ${ALICE}: their power level (100) is not below yours (50).`);
    const twoMods = room({ levels: { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 50 } } });
    await refused(member(CAROL, 'leave', BOB), twoMods, /their power level \(50\) is not below yours \(50\)/);
    await allowed(member(CAROL, 'leave', BOB), room({ levels: { kick: 0, users: { [ALICE]: 100, [BOB]: 5 } } }));
  });

  test('withdrawing an invite and refusing a knock are kicks', async () => {
    await allowed(member(DAVE, 'leave', BOB), room({ members: { [BOB]: 'join', [DAVE]: 'invite' } }));
    await refused(member(DAVE, 'leave', CAROL), room({ members: { [CAROL]: 'join', [DAVE]: 'invite' } }), `You are not allowed to withdraw the invite of ${DAVE}`);
    await refused(member(DAVE, 'leave', CAROL), room({ members: { [CAROL]: 'join', [DAVE]: 'knock' } }), `You are not allowed to refuse the knock of ${DAVE}`);
  });

  test('4.5.2: the sender must be joined', async () => {
    await refused(member(CAROL, 'leave', BOB), room({ members: { [BOB]: 'leave', [CAROL]: 'join' } }), /must be joined to the room to change another user's membership \(yours is leave\)/);
  });

  test('4.5.3: unbanning needs the ban level, and the kick level, and more power than the target', async () => {
    const banned = { [BOB]: 'join', [DAVE]: 'ban' };
    await allowed(member(DAVE, 'leave', BOB), room({ members: banned }));
    await refused(member(DAVE, 'leave', BOB), room({ members: banned, levels: { ban: 75 } }), `You are not allowed to unban ${DAVE}: it needs power level 75 and you have 50.`);
    await refused(member(DAVE, 'leave', BOB), room({ members: banned, levels: { kick: 75 } }), `You are not allowed to unban ${DAVE}: it needs power level 75 and you have 50.`);
    const strongBanned = room({ members: banned, levels: { users: { [ALICE]: 100, [BOB]: 50, [DAVE]: 60 } } });
    await refused(member(DAVE, 'leave', BOB), strongBanned, `You cannot unban ${DAVE}: their power level (60) is not below yours (50).`);
    await allowed(member(DAVE, 'leave', ALICE), strongBanned);
  });
});

describe('ban (rule 4.6)', () => {
  test('4.6.2: the ban level and more power than the target; outsiders can be banned too', async () => {
    await allowed(member(CAROL, 'ban', BOB), room());
    await allowed(member(DAVE, 'ban', BOB), room());
    await allowed(member(CAROL, 'ban', BOB), room({ members: { [BOB]: 'join', [CAROL]: 'ban' } }));
    await refused(member(BOB, 'ban', CAROL), room(), `You are not allowed to ban ${BOB}: it needs power level 50 and you have 0.`);
    await refused(member(ALICE, 'ban', BOB), room(), `You cannot ban ${ALICE}: their power level (100) is not below yours (50).`);
    await refused(member(BOB, 'ban', BOB), room(), /not below yours/);
    await refused(member(CAROL, 'ban', BOB), room({ levels: { ban: 60 } }), /needs power level 60 and you have 50/);
  });

  test('4.6.1: the sender must be joined', async () => {
    await refused(member(CAROL, 'ban', BOB), room({ members: { [BOB]: 'invite', [CAROL]: 'join' } }), 'You must be joined to the room to ban (your membership is invite).');
  });
});

describe('knock (rule 4.7)', () => {
  test.each(['knock', 'knock_restricted'])('join rule %s accepts knocks from outsiders, departed users and knockers', async (joinRule) => {
    await allowed(member(DAVE, 'knock'), room({ joinRule }));
    await allowed(member(DAVE, 'knock'), room({ joinRule, members: { [DAVE]: 'leave' } }));
    await allowed(member(DAVE, 'knock'), room({ joinRule, members: { [DAVE]: 'knock' } }));
  });

  test.each(['invite', 'public', 'restricted', 'private'])('4.7.1: join rule %s refuses knocks', async (joinRule) => {
    await refused(member(DAVE, 'knock'), room({ joinRule }), `This room does not accept knocks (join rule "${joinRule}").`);
  });

  test('4.7.2: only for oneself', async () => {
    await refused(member(DAVE, 'knock', CAROL), room({ joinRule: 'knock' }), `You can only knock for yourself, not for ${DAVE}.`);
  });

  test.each([
    ['ban', /banned/],
    ['invite', /already invited/],
    ['join', /already in this room/],
  ])('4.7.3-4: a user whose membership is %s cannot knock', async (membership, reason) => {
    await refused(member(DAVE, 'knock'), room({ joinRule: 'knock', members: { [DAVE]: membership } }), reason);
  });
});

describe('malformed membership events (rules 4.1, 4.8)', () => {
  test('a state_key and a string membership are required', async () => {
    await refused({ ...member(DAVE, 'join'), state_key: undefined }, room({ joinRule: 'public' }), /needs a state_key/);
    await refused({ ...member(DAVE, 'join'), content: {} }, room({ joinRule: 'public' }), /content.membership/);
    await refused({ ...member(DAVE, 'join'), content: { membership: 1 } }, room({ joinRule: 'public' }), /content.membership/);
  });

  test('an unknown membership is refused', async () => {
    await refused(member(CAROL, 'party', ALICE), room(), 'Unknown membership "party".');
  });
});

describe('other events: sender joined (rule 5) and power levels (rules 6, 7)', () => {
  test.each(['leave', 'invite', 'knock', 'ban'])('5: a sender whose membership is %s cannot send', async (membership) => {
    await refused(message(DAVE), room({ members: { [DAVE]: membership } }), `You are not joined to this room (your membership is ${membership})`);
  });

  test('7: message events need events[type] or events_default', async () => {
    await allowed(message(CAROL), room());
    await refused(message(CAROL), room({ levels: { events_default: 10 } }), 'You are not allowed to send m.room.encrypted: it needs power level 10 and you have 0.');
    await refused(message(BOB), room({ levels: { events: { 'm.room.encrypted': 60 } } }), /needs power level 60 and you have 50/);
    await allowed(message(CAROL, 'm.reaction', {}), room({ levels: { events_default: 10, events: { 'm.reaction': 0 } } }));
  });

  test('7: state events need events[type] or state_default (50 by default, also without power levels)', async () => {
    await refused(stateEvent('m.room.name', CAROL, { name: 'x' }), room(), 'You are not allowed to send m.room.name: it needs power level 50 and you have 0.');
    await allowed(stateEvent('m.room.name', BOB, { name: 'x' }), room());
    await allowed(stateEvent('m.room.name', CAROL, { name: 'x' }), room({ levels: { events: { 'm.room.name': 0 } } }));
    await refused(stateEvent('m.room.topic', BOB), room({ levels: { state_default: 75 } }), /needs power level 75 and you have 50/);
    const noLevels = room({ powerLevels: null });
    await refused(stateEvent('m.room.name', BOB), noLevels, /needs power level 50 and you have 0/);
    await allowed(stateEvent('m.room.name', ALICE), noLevels);
  });

  test('7: the events map governs m.room.power_levels itself', async () => {
    const state = room({ levels: { events: { 'm.room.power_levels': 100 } } });
    await refused(powerLevels({ users: { [ALICE]: 100, [BOB]: 50 } }, BOB), state, 'You are not allowed to send m.room.power_levels: it needs power level 100 and you have 50.');
  });

  test('6: m.room.third_party_invite needs the invite level, not the state level', async () => {
    const event = stateEvent('m.room.third_party_invite', CAROL, { display_name: 'd' }, 'token');
    await allowed(event, room());
    await refused(event, room({ levels: { invite: 10 } }), 'You are not allowed to send m.room.third_party_invite: it needs power level 10 and you have 0.');
  });

  test('8: a state_key starting with @ belongs to that user', async () => {
    const state = room({ levels: { events: { 'org.example.status': 0 } } });
    await allowed(stateEvent('org.example.status', CAROL, {}, CAROL), state);
    await refused(stateEvent('org.example.status', ALICE, {}, CAROL), state, `The state key ${CAROL} belongs to that user`);
    await allowed(stateEvent('org.example.status', CAROL, {}, 'carol'), state);
  });
});

describe('m.room.power_levels content (rules 9.1-9.3)', () => {
  const change = (content: Json, sender = ALICE) => powerLevels({ users: { [ALICE]: 100, [BOB]: 50 }, ...content }, sender);

  test.each(['10', '11'])('v%s: every level must be an integer', async (version) => {
    const state = room({ version });
    for (const key of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
      await refused(change({ [key]: '50' }), state, `m.room.power_levels: ${key} must be an integer (got "50").`, version);
      await refused(change({ [key]: 50.5 }), state, `${key} must be an integer`, version);
      await refused(change({ [key]: 2 ** 53 }), state, `${key} must be an integer`, version);
    }
    await refused(change({ events: { 'm.room.name': '50' } }), state, 'events["m.room.name"] must be an integer (got "50")', version);
    await refused(change({ notifications: { room: null } }), state, 'notifications["room"] must be an integer', version);
    await refused(change({ events: [50] }), state, 'events must be an object', version);
    await refused(change({ notifications: 50 }), state, 'notifications must be an object', version);
    await refused(powerLevels({ users: { [ALICE]: '100' } }), state, `users["${ALICE}"] must be an integer`, version);
    await refused(powerLevels({ users: null }), state, 'users must be an object', version);
    await refused(powerLevels({ users: { [ALICE]: 100, alice: 1 } }), state, 'users has a key that is not a user id: "alice"', version);
    await allowed(change({ ban: -5, events: { 'm.room.name': 0 }, notifications: { room: 20 } }), state, version);
  });

  test('the first m.room.power_levels event may set anything (9.4)', async () => {
    const state = stateFromEvents([createEvent('11'), member(ALICE, 'join')]);
    await allowed(powerLevels({ users: { [ALICE]: 100, [BOB]: 1000 }, ban: 500 }), state);
  });

  test('v12: room creators cannot be listed in users', async () => {
    const state = room({ version: '12' });
    await refused(powerLevels({ users: { [ALICE]: 100 } }), state, `room creators cannot be listed in users (${ALICE} is a creator of this room)`, '12');
    const twoCreators = stateFromEvents([createEvent('12', ALICE, { additional_creators: [BOB] }), member(ALICE, 'join')]);
    await refused(powerLevels({ users: { [BOB]: 50 } }), twoCreators, new RegExp(`${BOB} is a creator`), '12');
    await allowed(powerLevels({ users: { [CAROL]: 50 } }), twoCreators, '12');
  });
});

describe('m.room.power_levels changes (rules 9.5-9.9)', () => {
  // Bob (50) may send power levels; the current levels include some above him.
  const current = { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 10 }, events: { 'm.room.power_levels': 50, 'm.room.tombstone': 100, 'm.room.name': 50 }, kick: 75, ban: 50 };
  const state = room({ powerLevels: current });
  const by = (patch: Json, sender = BOB) => powerLevels({ ...current, ...patch }, sender);

  test('9.5: top-level levels: not from above, not to above the sender', async () => {
    await allowed(by({ ban: 40 }), state);
    await allowed(by({ ban: 50, redact: 50, invite: 50 }), state);
    await refused(by({ ban: 60 }), state, 'You cannot set ban to 60: it is above your power level (50).');
    await refused(by({ kick: 50 }), state, 'You cannot change kick from 75: it is above your power level (50).');
    const { kick: _removed, ...withoutKick } = current;
    await refused(powerLevels(withoutKick, BOB), state, /cannot change kick from 75/);
    await refused(by({ state_default: 51 }), state, /cannot set state_default to 51/);
  });

  test('9.6-9.7: the events and notifications maps likewise', async () => {
    await allowed(by({ events: { ...current.events, 'm.room.name': 20, 'm.room.topic': 50 } }), state);
    await refused(by({ events: { ...current.events, 'm.room.topic': 51 } }), state, 'You cannot set the level of event type m.room.topic to 51: it is above your power level (50).');
    await refused(by({ events: { ...current.events, 'm.room.tombstone': 50 } }), state, 'You cannot change the level of event type m.room.tombstone from 100');
    await refused(by({ events: { 'm.room.power_levels': 50, 'm.room.name': 50 } }), state, /m.room.tombstone from 100/);
    await allowed(by({ notifications: { room: 50 } }), state);
    await refused(by({ notifications: { room: 60 } }), state, 'You cannot set the level of notification room to 60');
    const highRoom = room({ powerLevels: { ...current, notifications: { room: 80 } } });
    await refused(by({ notifications: {} }), highRoom, 'You cannot change the level of notification room from 80');
  });

  test('9.8-9.9: users below the sender can be changed, up to the sender level', async () => {
    await allowed(by({ users: { ...current.users, [CAROL]: 50 } }), state);
    await allowed(by({ users: { ...current.users, [DAVE]: 50 } }), state);
    await allowed(by({ users: { [ALICE]: 100, [BOB]: 50 } }), state);
    await refused(by({ users: { ...current.users, [CAROL]: 51 } }), state, `You cannot give ${CAROL} power level 51: it is above your power level (50).`);
    await refused(by({ users: { ...current.users, [ALICE]: 0 } }), state, `You cannot change the power level of ${ALICE}: theirs (100) is not below yours (50).`);
    await refused(by({ users: { [BOB]: 50, [CAROL]: 10 } }), state, /power level of @alice:example.org: theirs \(100\)/);
  });

  test('9.8: a user at the same level cannot be changed, but one may demote oneself and not raise oneself', async () => {
    const peers = { ...current, users: { ...current.users, [CAROL]: 50 } };
    const peerState = room({ powerLevels: peers });
    await refused(powerLevels({ ...peers, users: { ...peers.users, [CAROL]: 0 } }, BOB), peerState, `theirs (50) is not below yours (50)`);
    await allowed(powerLevels({ ...peers, users: { ...peers.users, [BOB]: 10 } }, BOB), peerState);
    await refused(powerLevels({ ...peers, users: { ...peers.users, [BOB]: 60 } }, BOB), peerState, 'You cannot raise your own power level to 60: it is above your power level (50).');
  });

  test('unchanged levels above the sender are fine', async () => {
    await allowed(by({}), state);
  });

  test('v12: a creator changes anything, and cannot be demoted', async () => {
    const v12 = room({ version: '12', powerLevels: { users: { [BOB]: 100 } } });
    await allowed(powerLevels({ users: { [BOB]: 1000 }, ban: 1000, events: { 'm.room.tombstone': 150 } }), v12, '12');
    await refused(member(ALICE, 'leave', BOB), v12, `You cannot kick ${ALICE}: their power level (infinite (room creator)) is not below yours (100).`, '12');
    await refused(member(ALICE, 'ban', BOB), v12, /not below yours/, '12');
    await allowed(member(BOB, 'ban', ALICE), v12, '12');
    const coCreators = stateFromEvents([createEvent('12', ALICE, { additional_creators: [BOB] }), member(ALICE, 'join'), member(BOB, 'join')]);
    await refused(member(BOB, 'leave', ALICE), coCreators, /infinite \(room creator\)\) is not below yours \(infinite/, '12');
  });
});

describe('m.room.redaction', () => {
  const v11 = (sender: string, redacts: unknown = '$event') => ({ type: 'm.room.redaction', sender, content: { redacts } }) as AuthEvent;
  const v10 = (sender: string, redacts = '$event') => ({ type: 'm.room.redaction', sender, content: {}, redacts }) as AuthEvent;

  test('v11+: redacts lives in content; v10: at the top level', async () => {
    await allowed(v11(BOB), room({ version: '11' }), '11');
    await allowed(v11(BOB), room({ version: '12' }), '12');
    await allowed(v10(BOB), room({ version: '10' }), '10');
    await refused(v10(BOB), room({ version: '11' }), 'In room version 11, m.room.redaction must name the redacted event id in content.redacts.', '11');
    await refused(v11(BOB), room({ version: '10' }), 'In room version 10, m.room.redaction must name the redacted event id in the top-level redacts.', '10');
    await refused(v11(BOB, 42), room(), /content.redacts/);
    await refused(v11(BOB, 'event'), room(), /content.redacts/);
  });

  test('a user may always redact their own events', async () => {
    await allowed(v11(CAROL), room(), '11', { redactedEventSender: CAROL });
    await allowed(v10(CAROL), room({ version: '10' }), '10', { redactedEventSender: CAROL });
  });

  test("redacting other users' events (or unknown ones) needs the redact level", async () => {
    await refused(v11(CAROL), room(), "You are not allowed to redact other users' events: it needs power level 50 and you have 0.", '11', { redactedEventSender: BOB });
    await refused(v11(CAROL), room(), /needs power level 50/);
    await allowed(v11(BOB), room(), '11', { redactedEventSender: CAROL });
    await refused(v11(BOB), room({ levels: { redact: 60 } }), /needs power level 60 and you have 50/, '11', { redactedEventSender: CAROL });
    await allowed(v11(CAROL), room({ levels: { redact: 0 } }), '11', { redactedEventSender: BOB });
  });

  test('rules 5 and 7 still apply: joined senders, and the m.room.redaction event level even for own events', async () => {
    await refused(v11(DAVE), room(), /not joined/, '11', { redactedEventSender: DAVE });
    await refused(v11(CAROL), room({ levels: { events: { 'm.room.redaction': 10 } } }), 'You are not allowed to send m.room.redaction: it needs power level 10', '11', {
      redactedEventSender: CAROL,
    });
  });
});

describe('guests (a server rule beside the room versions: "Guest access")', () => {
  const isGuest = (userId: string) => userId === DAVE;
  const guestAccess = (value: unknown) => stateEvent('m.room.guest_access', ALICE, { guest_access: value });

  async function guestRefused(event: AuthEvent, state: RoomState): Promise<void> {
    const err = await refusal(event, state, '11', { isGuest });
    expect([err.status, err.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
  }

  test.each([[undefined], ['forbidden'], ['CAN_JOIN'], [null]])('guest_access %s: a guest neither joins (invited or not) nor knocks', async (value) => {
    const extra = value === undefined ? [] : [guestAccess(value)];
    await guestRefused(member(DAVE, 'join'), room({ joinRule: 'public', extra }));
    await guestRefused(member(DAVE, 'join'), room({ joinRule: 'invite', members: { [DAVE]: 'invite' }, extra }));
    await guestRefused(member(DAVE, 'knock'), room({ joinRule: 'knock', extra }));
    // Full users are not affected.
    await allowed(member(CAROL, 'join', CAROL, { displayname: 'C' }), room({ joinRule: 'public', extra }), '11', { isGuest });
    await allowed(member('@erin:example.org', 'join'), room({ joinRule: 'public', extra }), '11', { isGuest });
  });

  test('guest_access can_join lets guests in; a guest already joined may update its member event; leaving is always allowed', async () => {
    await allowed(member(DAVE, 'join'), room({ joinRule: 'public', extra: [guestAccess('can_join')] }), '11', { isGuest });
    await allowed(member(DAVE, 'knock'), room({ joinRule: 'knock', extra: [guestAccess('can_join')] }), '11', { isGuest });
    await allowed(member(DAVE, 'join', DAVE, { displayname: 'D' }), room({ joinRule: 'public', members: { [DAVE]: 'join' }, extra: [guestAccess('forbidden')] }), '11', { isGuest });
    await allowed(member(DAVE, 'leave'), room({ joinRule: 'public', members: { [DAVE]: 'invite' }, extra: [guestAccess('forbidden')] }), '11', { isGuest });
  });
});

describe('rules that differ between room versions 1 to 12', () => {
  const before = (n: number) => VERSIONS.filter((v) => Number(v) < n);
  const from = (n: number) => VERSIONS.filter((v) => Number(v) >= n);
  const pl = (content: Json, sender = ALICE) => powerLevels({ users: { [ALICE]: 100, [BOB]: 50 }, ...content }, sender);

  test.each(before(10))('v%s: power levels may be strings holding an integer, and count as that integer', async (version) => {
    const state = room({ version });
    for (const level of ['50', '000050', '+50', ' 50 ', '-5']) await allowed(pl({ ban: level, users: { [ALICE]: '100', [BOB]: level } }), state, version);
    await allowed(pl({ events: { 'm.room.name': '20' }, notifications: { room: '20' } }), state, version);
    for (const bad of ['5.0', '50a', '', '1e2', '- 5', '99999999999999999999']) {
      await refused(pl({ kick: bad }), state, `kick must be an integer (or a string holding one) (got ${JSON.stringify(bad)})`, version);
    }
    await refused(pl({ kick: 50.5 }), state, /kick must be an integer/, version);
    // Read as numbers: Bob at "50" may kick Carol (0) but not raise kick to "60".
    const stringy = room({ version, powerLevels: { users: { [ALICE]: '100', [BOB]: '50' }, kick: '50', state_default: '50', events: { 'm.room.power_levels': ' 50' } } });
    expect(userPowerLevel(stringy, BOB)).toBe(50);
    expect(actionPowerLevel(stringy, 'kick')).toBe(50);
    expect(requiredPowerLevel(stringy, 'm.room.power_levels', true)).toBe(50);
    await allowed(member(CAROL, 'leave', BOB), stringy, version);
    await refused(powerLevels({ users: { [ALICE]: '100', [BOB]: '50' }, kick: '60' }, BOB), stringy, 'You cannot set kick to 60', version);
    // "50" replaced by 50 is no change, so Bob may rewrite Alice's "100" as 100.
    await allowed(powerLevels({ users: { [ALICE]: 100, [BOB]: 50 }, kick: 50, state_default: 50, events: { 'm.room.power_levels': 50 } }, BOB), stringy, version);
  });

  test.each(from(10))('v%s: string power levels are refused', async (version) => {
    await refused(pl({ ban: '50' }), room({ version }), 'ban must be an integer (got "50")', version);
    await refused(pl({ users: { [ALICE]: '100' } }), room({ version }), /must be an integer/, version);
  });

  test.each(before(6))('v%s: m.room.aliases is allowed when its state_key is the sender server, whatever the sender power or membership', async (version) => {
    const state = room({ version, levels: { state_default: 100 } });
    await allowed(stateEvent('m.room.aliases', CAROL, { aliases: ['#a:example.org'] }, 'example.org'), state, version);
    await allowed(stateEvent('m.room.aliases', DAVE, { aliases: [] }, 'example.org'), state, version);
    await refused(stateEvent('m.room.aliases', CAROL, { aliases: [] }, 'other.org'), state, 'the state_key must be your server name (example.org)', version);
    await refused({ type: 'm.room.aliases', sender: CAROL, content: {} }, state, 'm.room.aliases must be a state event.', version);
  });

  test.each(from(6))('v%s: m.room.aliases is an ordinary state event', async (version) => {
    const state = room({ version, levels: { state_default: 100 } });
    await refused(stateEvent('m.room.aliases', CAROL, { aliases: [] }, 'example.org'), state, /needs power level 100/, version);
    await refused(stateEvent('m.room.aliases', DAVE, { aliases: [] }, 'example.org'), state, /not joined/, version);
    await allowed(stateEvent('m.room.aliases', ALICE, { aliases: [] }, 'other.org'), state, version);
  });

  test.each(VERSIONS)('v%s: changes to notifications levels are checked from v6 on', async (version) => {
    const current = { users: defaultUsers(version), events: { 'm.room.power_levels': 50 }, notifications: { room: 80 } };
    const state = room({ version, powerLevels: current });
    const change = powerLevels({ ...current, notifications: { room: 90 } }, BOB);
    if (Number(version) >= 6) await refused(change, state, 'You cannot change the level of notification room from 80', version);
    else await allowed(change, state, version);
  });

  test.each(VERSIONS)('v%s: knocking from v7 on', async (version) => {
    const state = room({ version, joinRule: 'knock' });
    if (Number(version) >= 7) {
      await allowed(member(DAVE, 'knock'), state, version);
      await allowed(member(DAVE, 'leave'), room({ version, joinRule: 'knock', members: { [DAVE]: 'knock' } }), version);
    } else {
      await refused(member(DAVE, 'knock'), state, 'Unknown membership "knock".', version);
      // Before v7 "knock" is no join rule at all (rule 5.2.6): nobody joins, not even with an invite.
      await refused(member(DAVE, 'join'), state, 'This room cannot be joined (join rule "knock").', version);
      await refused(member(DAVE, 'join'), room({ version, joinRule: 'knock', members: { [DAVE]: 'invite' } }), /cannot be joined/, version);
    }
  });

  test.each(VERSIONS)('v%s: restricted joins from v8 on, knock_restricted from v10 on', async (version) => {
    const other = '!other:example.org';
    const opts: AuthOptions = { isJoinedToRoom: (u, r) => u === DAVE && r === other };
    const allow = [{ type: 'm.room_membership', room_id: other }];
    const join = member(DAVE, 'join', DAVE, { join_authorised_via_users_server: ALICE });
    for (const [rule, since] of [['restricted', 8], ['knock_restricted', 10]] as const) {
      const state = room({ version, joinRule: rule, allow });
      if (Number(version) >= since) await allowed(join, state, version, opts);
      else await refused(join, state, `This room cannot be joined (join rule "${rule}").`, version, opts);
    }
    const knockRestricted = room({ version, joinRule: 'knock_restricted' });
    if (Number(version) >= 10) await allowed(member(DAVE, 'knock'), knockRestricted, version);
    else await refused(member(DAVE, 'knock'), knockRestricted, /knock/, version);
  });

  test.each(VERSIONS)('v%s: the creator is content.creator up to v10, the sender from v11', async (version) => {
    // The creator's first join after m.room.create (4.3.1) follows whoever the version names.
    const byBob = { type: 'm.room.create', state_key: '', sender: BOB, content: { room_version: version, creator: ALICE } } as AuthEvent;
    const state = stateFromEvents([byBob]);
    if (creatorInContent(version)) {
      await refused(byBob, stateFromEvents([]), /content.creator set to its sender/, version);
      await allowed(member(ALICE, 'join'), state, version);
      expect(roomCreators(state)).toEqual([ALICE]);
    } else {
      await allowed(byBob, stateFromEvents([]), version);
      await allowed(member(BOB, 'join'), state, version);
      await refused(member(ALICE, 'join'), state, /invite-only/, version);
      expect(roomCreators(state)).toEqual([BOB]);
    }
  });

  test.each(VERSIONS)('v%s: redacts at the top level up to v10, in content from v11', async (version) => {
    const state = room({ version });
    const top = { type: 'm.room.redaction', sender: BOB, content: {}, redacts: '$event' } as AuthEvent;
    const inContent = { type: 'm.room.redaction', sender: BOB, content: { redacts: '$event' } } as AuthEvent;
    if (Number(version) >= 11) {
      await allowed(inContent, state, version);
      await refused(top, state, /content.redacts/, version);
    } else {
      await allowed(top, state, version);
      await refused(inContent, state, /top-level redacts/, version);
    }
  });

  test.each(VERSIONS)('v%s: creators have infinite power only from v12', async (version) => {
    const state = room({ version, powerLevels: { users: { [BOB]: 50 } } });
    expect(userPowerLevel(state, ALICE)).toBe(Number(version) >= 12 ? Infinity : 0);
  });
});
