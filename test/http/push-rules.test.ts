import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const BASE = '/_matrix/client/v3/pushrules';
const rule = (kind: string, id: string, tail = '') => `${BASE}/global/${kind}/${encodeURIComponent(id)}${tail}`;
const ids = (rules: { rule_id: string }[]) => rules.map((r) => r.rule_id);

async function ruleset(u: TestUser) {
  const res = await t.http.get(`${BASE}/global/`).set(u.auth);
  expect(res.status).toBe(200);
  return res.body;
}
async function put(u: TestUser, kind: string, id: string, body: unknown, query = '') {
  return t.http.put(`${rule(kind, id)}${query}`).set(u.auth).send(body as object);
}
async function streamPos(u: TestUser): Promise<number | undefined> {
  const [row] = await t.hs.sql<{ streamPos: number }[]>`SELECT stream_pos FROM push_rules_stream WHERE user_id = ${u.userId}`;
  return row?.streamPos;
}
function expectError(res: { status: number; body: unknown }, status: number, errcode: string) {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

const OVERRIDE_DEFAULTS = [
  '.m.rule.master',
  '.m.rule.suppress_notices',
  '.m.rule.invite_for_me',
  '.m.rule.member_event',
  '.m.rule.is_user_mention',
  '.m.rule.is_room_mention',
  '.m.rule.tombstone',
  '.m.rule.reaction',
  '.m.rule.room.server_acl',
  '.m.rule.suppress_edits',
];
const UNDERRIDE_DEFAULTS = ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted'];

describe('server-default rules', () => {
  test('GET /pushrules/ lists the spec defaults in order, rendered for the user, valid against the spec', async () => {
    const u = await registerUser(t);
    const res = await t.http.get(`${BASE}/`).set(u.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getPushRules', 200, res.body);
    const g = res.body.global;
    expect(Object.keys(g).sort()).toEqual(['content', 'override', 'room', 'sender', 'underride']);
    expect(ids(g.override)).toEqual(OVERRIDE_DEFAULTS);
    expect(ids(g.underride)).toEqual(UNDERRIDE_DEFAULTS);
    // v1.17 removed the legacy body-matching defaults (.m.rule.contains_user_name and friends): no content defaults.
    expect([g.content, g.room, g.sender]).toEqual([[], [], []]);
    for (const r of [...g.override, ...g.underride]) expect(r.default).toBe(true);
    expect(g.override[0]).toEqual({ rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
    expect(g.override[2]).toEqual({
      rule_id: '.m.rule.invite_for_me',
      default: true,
      enabled: true,
      conditions: [
        { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
        { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
        { kind: 'event_match', key: 'state_key', pattern: u.userId },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
    });
    expect(g.override[4].conditions).toEqual([{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: u.userId }]);
    expect(g.override[5]).toMatchObject({
      conditions: [
        { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
        { kind: 'sender_notification_permission', key: 'room' },
      ],
      actions: ['notify', { set_tweak: 'highlight' }],
    });
    expect(g.override[9].conditions).toEqual([{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }]);
    expect(g.underride[0].actions).toEqual(['notify', { set_tweak: 'sound', value: 'ring' }]);
    expect(g.underride[1]).toEqual({
      rule_id: '.m.rule.encrypted_room_one_to_one',
      default: true,
      enabled: true,
      conditions: [
        { kind: 'room_member_count', is: '2' },
        { kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }],
    });
    expect(g.underride[4]).toEqual({
      rule_id: '.m.rule.encrypted',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' }],
      actions: ['notify'],
    });
  });

  test('the path works without the trailing slash; /pushrules/global/ is the same ruleset; each user gets their own', async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    const bare = await t.http.get(BASE).set(a.auth);
    expect(bare.status).toBe(200);
    const global = await t.http.get(`${BASE}/global/`).set(a.auth);
    expectValidResponseById('getPushRulesGlobal', 200, global.body);
    expect(global.body).toEqual(bare.body.global);
    expect((await t.http.get(`${BASE}/global`).set(a.auth)).body).toEqual(global.body);
    const other = await ruleset(b);
    expect(other.override[2].conditions[2].pattern).toBe(b.userId);
    expect(global.body.override[2].conditions[2].pattern).toBe(a.userId);
  });

  test('a single default rule, its enabled flag and its actions can be read', async () => {
    const u = await registerUser(t);
    const one = await t.http.get(rule('underride', '.m.rule.message')).set(u.auth);
    expect(one.status).toBe(200);
    expectValidResponseById('getPushRule', 200, one.body);
    expect(one.body).toEqual({ rule_id: '.m.rule.message', default: true, enabled: true, conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }], actions: ['notify'] });
    expect((await t.http.get(rule('override', '.m.rule.master', '/enabled')).set(u.auth)).body).toEqual({ enabled: false });
    expect((await t.http.get(rule('underride', '.m.rule.call', '/actions')).set(u.auth)).body).toEqual({ actions: ['notify', { set_tweak: 'sound', value: 'ring' }] });
    // Default rules are found only under their own kind.
    expectError(await t.http.get(rule('underride', '.m.rule.master')).set(u.auth), 404, 'M_NOT_FOUND');
  });

  test('enabled and actions of default rules change per user and take a stream position each', async () => {
    const u = await registerUser(t);
    const other = await registerUser(t);
    expect(await streamPos(u)).toBeUndefined();
    expect((await t.http.put(rule('override', '.m.rule.master', '/enabled')).set(u.auth).send({ enabled: true })).status).toBe(200);
    const first = await streamPos(u);
    expect(first).toBeGreaterThan(0);
    const actions = ['notify', { set_tweak: 'sound', value: 'bing' }, { set_tweak: 'highlight', value: false }];
    const set = await t.http.put(rule('underride', '.m.rule.message', '/actions')).set(u.auth).send({ actions });
    expect([set.status, set.body]).toEqual([200, {}]);
    expect(await streamPos(u)).toBeGreaterThan(first!);
    expect((await t.http.put(rule('underride', '.m.rule.message', '/enabled')).set(u.auth).send({ enabled: false })).status).toBe(200);

    const g = await ruleset(u);
    expect(g.override[0]).toMatchObject({ rule_id: '.m.rule.master', enabled: true, default: true });
    expect(g.underride[3]).toMatchObject({ rule_id: '.m.rule.message', enabled: false, actions, default: true });
    expect((await t.http.get(rule('underride', '.m.rule.message', '/actions')).set(u.auth)).body).toEqual({ actions });
    expect((await t.http.get(rule('underride', '.m.rule.message', '/enabled')).set(u.auth)).body).toEqual({ enabled: false });
    // Setting actions kept the enabled change, and the other way round.
    expect((await t.http.put(rule('underride', '.m.rule.message', '/actions')).set(u.auth).send({ actions: [] })).status).toBe(200);
    expect((await t.http.get(rule('underride', '.m.rule.message')).set(u.auth)).body).toMatchObject({ enabled: false, actions: [] });

    const o = await ruleset(other);
    expect(o.override[0].enabled).toBe(false);
    expect(o.underride[3]).toMatchObject({ enabled: true, actions: ['notify'] });
    const [head] = await t.hs.sql<{ pos: number }[]>`SELECT pos FROM stream_head`;
    expect(await streamPos(u)).toBe(head.pos);
  });
});

describe('user-defined rules', () => {
  test('a new override rule is enabled, goes after .m.rule.master and before the other defaults', async () => {
    const u = await registerUser(t);
    const res = await put(u, 'override', 'beer', {
      conditions: [
        { kind: 'event_match', key: 'content.body', pattern: 'beer' },
        { kind: 'room_member_count', is: '<=10' },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'beeroclock.wav' }],
    });
    expect([res.status, res.body]).toEqual([200, {}]);
    const g = await ruleset(u);
    expect(ids(g.override)).toEqual(['.m.rule.master', 'beer', ...OVERRIDE_DEFAULTS.slice(1)]);
    const one = await t.http.get(rule('override', 'beer')).set(u.auth);
    expectValidResponseById('getPushRule', 200, one.body);
    expect(one.body).toEqual({
      rule_id: 'beer',
      default: false,
      enabled: true,
      conditions: [
        { kind: 'event_match', key: 'content.body', pattern: 'beer' },
        { kind: 'room_member_count', is: '<=10' },
      ],
      actions: ['notify', { set_tweak: 'sound', value: 'beeroclock.wav' }],
    });
  });

  test('content, room, sender and underride rules have the shape of their kind; user rules precede defaults', async () => {
    const u = await registerUser(t);
    expect((await put(u, 'content', 'cake', { pattern: 'cake*lie', actions: ['notify'], conditions: [] })).status).toBe(200);
    expect((await put(u, 'room', '!dj234r78wl45Gh4D:matrix.org', { actions: [] })).status).toBe(200);
    expect((await put(u, 'sender', '@spambot:matrix.org', { actions: [], pattern: 'ignored' })).status).toBe(200);
    expect((await put(u, 'underride', 'all', { actions: ['notify'] })).status).toBe(200);
    const res = await t.http.get(BASE).set(u.auth);
    expectValidResponseById('getPushRules', 200, res.body);
    const g = res.body.global;
    expect(g.content).toEqual([{ rule_id: 'cake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify'] }]);
    expect(g.room).toEqual([{ rule_id: '!dj234r78wl45Gh4D:matrix.org', default: false, enabled: true, actions: [] }]);
    expect(g.sender).toEqual([{ rule_id: '@spambot:matrix.org', default: false, enabled: true, actions: [] }]);
    expect(ids(g.underride)).toEqual(['all', ...UNDERRIDE_DEFAULTS]);
    expect(g.underride[0]).toEqual({ rule_id: 'all', default: false, enabled: true, conditions: [], actions: ['notify'] });
  });

  test('placement: new rules first, before/after among user rules, before wins over after, updates keep their place', async () => {
    const u = await registerUser(t);
    const body = { pattern: 'x', actions: ['notify'] };
    const order = async () => ids((await ruleset(u)).content);
    expect((await put(u, 'content', 'a', body)).status).toBe(200);
    expect((await put(u, 'content', 'b', body)).status).toBe(200);
    expect(await order()).toEqual(['b', 'a']);
    expect((await put(u, 'content', 'c', body, '?after=a')).status).toBe(200);
    expect(await order()).toEqual(['b', 'a', 'c']);
    expect((await put(u, 'content', 'd', body, '?before=a')).status).toBe(200);
    expect(await order()).toEqual(['b', 'd', 'a', 'c']);
    expect((await put(u, 'content', 'e', body, '?after=b&before=c')).status).toBe(200);
    expect(await order()).toEqual(['b', 'd', 'a', 'e', 'c']);
    // An update without before/after keeps the place and the enabled flag, and replaces the content.
    expect((await t.http.put(rule('content', 'a', '/enabled')).set(u.auth).send({ enabled: false })).status).toBe(200);
    expect((await put(u, 'content', 'a', { pattern: 'new', actions: [] })).status).toBe(200);
    expect(await order()).toEqual(['b', 'd', 'a', 'e', 'c']);
    expect((await t.http.get(rule('content', 'a')).set(u.auth)).body).toEqual({ rule_id: 'a', default: false, enabled: false, pattern: 'new', actions: [] });
    // An update with before/after moves the rule.
    expect((await put(u, 'content', 'a', body, '?after=c')).status).toBe(200);
    expect(await order()).toEqual(['b', 'd', 'e', 'c', 'a']);
    expect((await put(u, 'content', 'c', body, '?before=b')).status).toBe(200);
    expect(await order()).toEqual(['c', 'b', 'd', 'e', 'a']);
    // Kinds are separate: the same id in another kind is another rule.
    expect((await put(u, 'override', 'a', { actions: [] })).status).toBe(200);
    expect(await order()).toEqual(['c', 'b', 'd', 'e', 'a']);
  });

  test("concurrent writes of one user run in turn: every rule lands, positions stay 0..n-1", async () => {
    const u = await registerUser(t);
    const n = 8;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => put(u, 'underride', `r${i}`, { actions: ['notify'] })));
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
    const own = (await ruleset(u)).underride.filter((r: { default: boolean }) => !r.default);
    expect(ids(own).sort()).toEqual(Array.from({ length: n }, (_, i) => `r${i}`).sort());
    const positions = await t.hs.sql<{ position: number }[]>`SELECT position FROM push_rules WHERE user_id = ${u.userId} ORDER BY position`;
    expect(positions.map((p) => p.position)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  test('enabled and actions of user rules; historical actions are stripped', async () => {
    const u = await registerUser(t);
    expect((await put(u, 'sender', '@bot:example.org', { actions: ['notify', 'dont_notify', 'coalesce'] })).status).toBe(200);
    expect((await t.http.get(rule('sender', '@bot:example.org', '/actions')).set(u.auth)).body).toEqual({ actions: ['notify'] });
    expect((await t.http.put(rule('sender', '@bot:example.org', '/enabled')).set(u.auth).send({ enabled: false })).status).toBe(200);
    expect((await t.http.get(rule('sender', '@bot:example.org', '/enabled')).set(u.auth)).body).toEqual({ enabled: false });
    const actions = ['dont_notify', { set_tweak: 'x-custom', value: { any: 'thing' } }];
    expect((await t.http.put(rule('sender', '@bot:example.org', '/actions')).set(u.auth).send({ actions })).status).toBe(200);
    expect((await t.http.get(rule('sender', '@bot:example.org')).set(u.auth)).body).toEqual({
      rule_id: '@bot:example.org',
      default: false,
      enabled: false,
      actions: [{ set_tweak: 'x-custom', value: { any: 'thing' } }],
    });
  });

  test('conditions of unknown kinds are kept (they never match)', async () => {
    const u = await registerUser(t);
    const conditions = [{ kind: 'org.example.future', anything: [1, 2] }, { kind: 'contains_display_name' }, { kind: 'event_property_is', key: 'content.x', value: null }];
    expect((await put(u, 'override', 'future', { conditions, actions: ['notify'] })).status).toBe(200);
    expect((await t.http.get(rule('override', 'future')).set(u.auth)).body.conditions).toEqual(conditions);
  });

  test('delete removes a user rule; default rules cannot be deleted', async () => {
    const u = await registerUser(t);
    expect((await put(u, 'override', 'gone', { actions: [] })).status).toBe(200);
    const before = await streamPos(u);
    const del = await t.http.delete(rule('override', 'gone')).set(u.auth);
    expect([del.status, del.body]).toEqual([200, {}]);
    expect(await streamPos(u)).toBeGreaterThan(before!);
    expectError(await t.http.get(rule('override', 'gone')).set(u.auth), 404, 'M_NOT_FOUND');
    expectError(await t.http.delete(rule('override', 'gone')).set(u.auth), 404, 'M_NOT_FOUND');
    expectError(await t.http.delete(rule('override', '.m.rule.master')).set(u.auth), 400, 'M_INVALID_PARAM');
    expectError(await t.http.delete(rule('override', '.m.rule.nothing')).set(u.auth), 404, 'M_NOT_FOUND');
    expect(ids((await ruleset(u)).override)).toEqual(OVERRIDE_DEFAULTS);
  });
});

describe('bad requests', () => {
  test('no token: 401 M_MISSING_TOKEN on every endpoint', async () => {
    const calls = [
      t.http.get(`${BASE}/`),
      t.http.get(`${BASE}/global/`),
      t.http.get(rule('override', '.m.rule.master')),
      t.http.put(rule('override', 'x')).send({ actions: [] }),
      t.http.delete(rule('override', 'x')),
      t.http.get(rule('override', '.m.rule.master', '/enabled')),
      t.http.put(rule('override', '.m.rule.master', '/enabled')).send({ enabled: true }),
      t.http.get(rule('override', '.m.rule.master', '/actions')),
      t.http.put(rule('override', '.m.rule.master', '/actions')).send({ actions: [] }),
    ];
    for (const res of await Promise.all(calls)) expectError(res, 401, 'M_MISSING_TOKEN');
  });

  test('guests may not use push rules', async () => {
    const g = await t.http.post('/_matrix/client/v3/register?kind=guest').send({});
    expect(g.status).toBe(200);
    expectError(await t.http.get(`${BASE}/`).set({ Authorization: `Bearer ${g.body.access_token}` }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
  });

  test('every bad input gets its Matrix error and changes nothing', async () => {
    const u = await registerUser(t);
    expect((await put(u, 'content', 'mine', { pattern: 'p', actions: ['notify'] })).status).toBe(200);
    const snapshot = await ruleset(u);
    const pos = await streamPos(u);
    const cases: [Promise<{ status: number; body: unknown }>, number, string][] = [
      // unknown kind, on every endpoint
      [t.http.get(rule('global', 'x')).set(u.auth), 400, 'M_INVALID_PARAM'],
      [put(u, 'bogus', 'x', { actions: [] }), 400, 'M_INVALID_PARAM'],
      [t.http.delete(rule('bogus', 'mine')).set(u.auth), 400, 'M_INVALID_PARAM'],
      [t.http.get(rule('bogus', 'x', '/enabled')).set(u.auth), 400, 'M_INVALID_PARAM'],
      [t.http.put(rule('bogus', '.m.rule.master', '/enabled')).set(u.auth).send({ enabled: true }), 400, 'M_INVALID_PARAM'],
      [t.http.get(rule('bogus', 'x', '/actions')).set(u.auth), 400, 'M_INVALID_PARAM'],
      [t.http.put(rule('bogus', '.m.rule.master', '/actions')).set(u.auth).send({ actions: [] }), 400, 'M_INVALID_PARAM'],
      // bodies
      [put(u, 'override', 'x', {}), 400, 'M_MISSING_PARAM'],
      [put(u, 'override', 'x', { actions: 'notify' }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: ['notify', 'shout'] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [{ value: 'x' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [{ set_tweak: 'highlight', value: 'yes' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [{ set_tweak: 'sound' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: {} }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ key: 'type', pattern: 'm.room.message' }] }), 400, 'M_MISSING_PARAM'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_match', key: 'type' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_property_is', key: 'type' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_property_is', key: 'a', value: { b: 1 } }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_property_is', key: 'a', value: 1.5 }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'room_member_count', is: 'two' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'sender_notification_permission' }] }), 400, 'M_BAD_JSON'],
      [put(u, 'content', 'x', { actions: [] }), 400, 'M_MISSING_PARAM'],
      [put(u, 'content', 'x', { actions: [], pattern: 5 }), 400, 'M_BAD_JSON'],
      [t.http.put(rule('override', 'x')).set(u.auth).set('Content-Type', 'application/json').send('{"actions": ['), 400, 'M_NOT_JSON'],
      [t.http.put(rule('override', 'x')).set(u.auth).send(['notify']), 400, 'M_NOT_JSON'],
      [t.http.put(rule('content', 'mine', '/enabled')).set(u.auth).send({}), 400, 'M_MISSING_PARAM'],
      [t.http.put(rule('content', 'mine', '/enabled')).set(u.auth).send({ enabled: 'false' }), 400, 'M_BAD_JSON'],
      [t.http.put(rule('content', 'mine', '/actions')).set(u.auth).send({}), 400, 'M_MISSING_PARAM'],
      [t.http.put(rule('content', 'mine', '/actions')).set(u.auth).send({ actions: [42] }), 400, 'M_BAD_JSON'],
      // rule ids
      [put(u, 'override', '.m.rule.mine', { actions: [] }), 400, 'M_INVALID_PARAM'],
      [put(u, 'override', '.m.rule.master', { actions: [] }), 400, 'M_INVALID_PARAM'],
      [put(u, 'override', 'a/b', { actions: [] }), 400, 'M_INVALID_PARAM'],
      [put(u, 'override', 'a\\b', { actions: [] }), 400, 'M_INVALID_PARAM'],
      [put(u, 'override', 'x'.repeat(256), { actions: [] }), 400, 'M_INVALID_PARAM'],
      [put(u, 'room', 'not-a-room', { actions: [] }), 400, 'M_INVALID_PARAM'],
      [put(u, 'sender', 'bob', { actions: [] }), 400, 'M_INVALID_PARAM'],
      // before / after
      [put(u, 'content', 'x', { pattern: 'p', actions: [] }, '?before=missing'), 404, 'M_NOT_FOUND'],
      [put(u, 'content', 'x', { pattern: 'p', actions: [] }, '?after=missing'), 404, 'M_NOT_FOUND'],
      [put(u, 'override', 'x', { actions: [] }, '?after=mine'), 404, 'M_NOT_FOUND'],
      [put(u, 'override', 'x', { actions: [] }, '?before=.m.rule.master'), 400, 'M_INVALID_PARAM'],
      [put(u, 'content', 'mine', { pattern: 'p', actions: [] }, '?before=mine'), 400, 'M_INVALID_PARAM'],
      [put(u, 'content', 'x', { pattern: 'p', actions: [] }, '?before='), 400, 'M_INVALID_PARAM'],
      [put(u, 'content', 'x', { pattern: 'p', actions: [] }, '?before=mine&before=mine'), 400, 'M_INVALID_PARAM'],
      // unknown rules
      [t.http.get(rule('override', 'nope')).set(u.auth), 404, 'M_NOT_FOUND'],
      [t.http.get(rule('override', 'mine')).set(u.auth), 404, 'M_NOT_FOUND'],
      [t.http.get(rule('override', 'nope', '/enabled')).set(u.auth), 404, 'M_NOT_FOUND'],
      [t.http.get(rule('override', 'nope', '/actions')).set(u.auth), 404, 'M_NOT_FOUND'],
      [t.http.put(rule('override', 'nope', '/enabled')).set(u.auth).send({ enabled: false }), 404, 'M_NOT_FOUND'],
      [t.http.put(rule('override', 'nope', '/actions')).set(u.auth).send({ actions: [] }), 404, 'M_NOT_FOUND'],
      [t.http.put(rule('override', '.m.rule.nope', '/enabled')).set(u.auth).send({ enabled: false }), 404, 'M_NOT_FOUND'],
      [t.http.put(rule('content', '.m.rule.master', '/actions')).set(u.auth).send({ actions: [] }), 404, 'M_NOT_FOUND'],
    ];
    for (const [call, status, errcode] of cases) {
      const res = await call;
      try {
        expectError(res, status, errcode);
      } catch (err) {
        throw new Error(`${(res as unknown as { req: { method: string; path: string } }).req.method} ${(res as unknown as { req: { path: string } }).req.path}: ${(err as Error).message}`);
      }
    }
    expect(await ruleset(u)).toEqual(snapshot);
    expect(await streamPos(u)).toBe(pos);
  });

  test('every string, list and value of a rule is bounded at the edge (a hostile or careless client): 400, nothing stored', async () => {
    const u = await registerUser(t);
    const snapshot = await ruleset(u);
    const pos = await streamPos(u);
    const long = 'k'.repeat(256);
    // 86 three-byte characters are 258 bytes: the bound is in bytes, not characters.
    const wide = '€'.repeat(86);
    const cases: [Promise<{ status: number; body: unknown }>, string][] = [
      [put(u, 'content', 'kw', { pattern: long, actions: ['notify'] }), 'a keyword pattern over 255 bytes'],
      [put(u, 'content', 'kw', { pattern: wide, actions: ['notify'] }), 'a pattern of 86 three-byte characters'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_match', key: 'content.body', pattern: long }] }), 'a condition pattern over 255 bytes'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_match', key: long, pattern: 'p' }] }), 'a condition key over 255 bytes'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: long }] }), 'a condition kind over 255 bytes'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'room_member_count', is: `==${'9'.repeat(30)}` }] }), 'an overlong member count'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'event_property_is', key: 'a', value: 'v'.repeat(1025) }] }), 'a value over 1 KiB'],
      [put(u, 'override', 'x', { actions: [], conditions: [{ kind: 'org.example.future', notes: 'n'.repeat(3000) }] }), 'an unknown condition carrying 3 KB'],
      [put(u, 'override', 'x', { actions: [], conditions: Array.from({ length: 21 }, () => ({ kind: 'event_match', key: 'type', pattern: 'm.*' })) }), '21 conditions'],
      [put(u, 'override', 'x', { actions: Array.from({ length: 21 }, () => 'notify') }), '21 actions'],
      [put(u, 'override', 'x', { actions: [{ set_tweak: long, value: true }] }), 'a tweak name over 255 bytes'],
      [put(u, 'override', 'x', { actions: [{ set_tweak: 'org.example.note', value: { text: 'x'.repeat(2000) } }] }), 'a tweak value of 2 KB'],
      [put(u, 'override', 'x', { actions: [{ set_tweak: 'sound', value: 's'.repeat(1025) }] }), 'a sound name over 1 KiB'],
      [put(u, 'override', 'x', { actions: [] }, `?after=${long}`), 'an overlong after'],
      [t.http.put(rule('override', '.m.rule.master', '/actions')).set(u.auth).send({ actions: Array.from({ length: 21 }, () => 'notify') }), '21 actions on a default rule'],
    ];
    for (const [call, what] of cases) {
      const res = await call;
      expect([what, res.status]).toEqual([what, 400]);
      expect((res.body as { errcode: string }).errcode).toMatch(/^M_(BAD_JSON|INVALID_PARAM)$/);
    }
    expect(await ruleset(u)).toEqual(snapshot);
    expect(await streamPos(u)).toBe(pos);
    // At the bounds, rules are accepted.
    expect((await put(u, 'content', 'kw', { pattern: 'k'.repeat(255), actions: ['notify'] })).status).toBe(200);
    expect((await put(u, 'override', 'x', { actions: ['notify', { set_tweak: 'sound', value: 'default' }], conditions: Array.from({ length: 20 }, () => ({ kind: 'event_match', key: 'type', pattern: 'm.*' })) })).status).toBe(200);
  });

  test('a client adding rules in a loop stops at 200 of a kind; replacing a rule still works', async () => {
    const u = await registerUser(t);
    for (let i = 0; i < 200; i++) expect((await put(u, 'content', `kw${i}`, { pattern: `w${i}`, actions: [] })).status).toBe(200);
    const refused = await put(u, 'content', 'one-more', { pattern: 'w', actions: [] });
    expectError(refused, 400, 'M_BAD_JSON');
    expect((await put(u, 'content', 'kw7', { pattern: 'again', actions: ['notify'] })).status).toBe(200);
    expect((await put(u, 'override', 'other-kind', { actions: [] })).status).toBe(200);
    expect((await ruleset(u)).content).toHaveLength(200);
  }, 60_000);

  test('documented error responses match the spec', async () => {
    const u = await registerUser(t);
    const res = await t.http.get(rule('override', 'nope')).set(u.auth);
    expectValidResponseById('getPushRule', 404, res.body);
    const del = await t.http.delete(rule('override', 'nope')).set(u.auth);
    expectValidResponseById('deletePushRule', 404, del.body);
    const bad = await put(u, 'override', 'x', { actions: [] }, '?before=.m.rule.master');
    expectValidResponseById('setPushRule', 400, bad.body);
  });
});

describe('push rules as account data', () => {
  test('GET account_data/m.push_rules returns the ruleset', async () => {
    const u = await registerUser(t);
    const res = await t.http.get(`/_matrix/client/v3/user/${encodeURIComponent(u.userId)}/account_data/m.push_rules`).set(u.auth);
    expect(res.status).toBe(200);
    const direct = await t.http.get('/_matrix/client/v3/pushrules/').set(u.auth);
    expect(res.body).toEqual({ global: direct.body.global });
  });
});
