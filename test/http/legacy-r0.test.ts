/**
 * The legacy r0 prefixes (/_matrix/client/r0, /_matrix/media/r0): every endpoint of the r0 API (r0.6.1, the last r0 release) that the server
 * serves answers under r0 exactly as under v3, and no endpoint a later version added has an r0 alias. The route table
 * (the routes declared `r0: true`) is compared with the r0 list written below, taken from the r0.6.1 spec
 * (matrix-doc, tag client_server/r0.6.1, api/client-server/*.yaml, content-repo.yaml for the media ones). Older clients and bots (matrix-nio 0.20) call
 * these paths with the token in the access_token query parameter, which is tested here too.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import Router from '@koa/router';
import { allRoutes } from '../../src/api/index.js';
import { CLIENT_R0, CLIENT_V3, MEDIA_R0, servedPaths, type Route } from '../../src/api/route.js';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

/**
 * Every client-server endpoint of r0.6.1 under /_matrix/client/r0, as that spec writes it (its unprefixed
 * /versions and /.well-known are not in it; the content repository's are in R0_MEDIA_ENDPOINTS). The push rule scope is written `global`, the only scope there is; r0.6.1 names
 * GET /pushrules/global/ in the text of GET /pushrules/.
 */
const R0_ENDPOINTS: [string, string][] = [
  ['GET', '/account/3pid'],
  ['POST', '/account/3pid'],
  ['POST', '/account/3pid/add'],
  ['POST', '/account/3pid/bind'],
  ['POST', '/account/3pid/delete'],
  ['POST', '/account/3pid/email/requestToken'],
  ['POST', '/account/3pid/msisdn/requestToken'],
  ['POST', '/account/3pid/unbind'],
  ['POST', '/account/deactivate'],
  ['POST', '/account/password'],
  ['POST', '/account/password/email/requestToken'],
  ['POST', '/account/password/msisdn/requestToken'],
  ['GET', '/account/whoami'],
  ['GET', '/admin/whois/{userId}'],
  ['GET', '/capabilities'],
  ['POST', '/createRoom'],
  ['POST', '/delete_devices'],
  ['GET', '/devices'],
  ['DELETE', '/devices/{deviceId}'],
  ['GET', '/devices/{deviceId}'],
  ['PUT', '/devices/{deviceId}'],
  ['PUT', '/directory/list/appservice/{networkId}/{roomId}'],
  ['GET', '/directory/list/room/{roomId}'],
  ['PUT', '/directory/list/room/{roomId}'],
  ['DELETE', '/directory/room/{roomAlias}'],
  ['GET', '/directory/room/{roomAlias}'],
  ['PUT', '/directory/room/{roomAlias}'],
  ['GET', '/events'],
  ['GET', '/events/{eventId}'],
  ['GET', '/initialSync'],
  ['POST', '/join/{roomIdOrAlias}'],
  ['GET', '/joined_rooms'],
  ['GET', '/keys/changes'],
  ['POST', '/keys/claim'],
  ['POST', '/keys/query'],
  ['POST', '/keys/upload'],
  ['GET', '/login'],
  ['POST', '/login'],
  ['GET', '/login/sso/redirect'],
  ['POST', '/logout'],
  ['POST', '/logout/all'],
  ['GET', '/notifications'],
  ['GET', '/presence/{userId}/status'],
  ['PUT', '/presence/{userId}/status'],
  ['GET', '/profile/{userId}'],
  ['GET', '/profile/{userId}/avatar_url'],
  ['PUT', '/profile/{userId}/avatar_url'],
  ['GET', '/profile/{userId}/displayname'],
  ['PUT', '/profile/{userId}/displayname'],
  ['GET', '/publicRooms'],
  ['POST', '/publicRooms'],
  ['GET', '/pushers'],
  ['POST', '/pushers/set'],
  ['GET', '/pushrules/'],
  ['GET', '/pushrules/global/'],
  ['DELETE', '/pushrules/global/{kind}/{ruleId}'],
  ['GET', '/pushrules/global/{kind}/{ruleId}'],
  ['PUT', '/pushrules/global/{kind}/{ruleId}'],
  ['GET', '/pushrules/global/{kind}/{ruleId}/actions'],
  ['PUT', '/pushrules/global/{kind}/{ruleId}/actions'],
  ['GET', '/pushrules/global/{kind}/{ruleId}/enabled'],
  ['PUT', '/pushrules/global/{kind}/{ruleId}/enabled'],
  ['POST', '/register'],
  ['GET', '/register/available'],
  ['POST', '/register/email/requestToken'],
  ['POST', '/register/msisdn/requestToken'],
  ['GET', '/rooms/{roomId}/aliases'],
  ['POST', '/rooms/{roomId}/ban'],
  ['GET', '/rooms/{roomId}/context/{eventId}'],
  ['GET', '/rooms/{roomId}/event/{eventId}'],
  ['POST', '/rooms/{roomId}/forget'],
  ['GET', '/rooms/{roomId}/initialSync'],
  ['POST', '/rooms/{roomId}/invite'],
  ['POST', '/rooms/{roomId}/join'],
  ['GET', '/rooms/{roomId}/joined_members'],
  ['POST', '/rooms/{roomId}/kick'],
  ['POST', '/rooms/{roomId}/leave'],
  ['GET', '/rooms/{roomId}/members'],
  ['GET', '/rooms/{roomId}/messages'],
  ['POST', '/rooms/{roomId}/read_markers'],
  ['POST', '/rooms/{roomId}/receipt/{receiptType}/{eventId}'],
  ['PUT', '/rooms/{roomId}/redact/{eventId}/{txnId}'],
  ['POST', '/rooms/{roomId}/report/{eventId}'],
  ['PUT', '/rooms/{roomId}/send/{eventType}/{txnId}'],
  ['GET', '/rooms/{roomId}/state'],
  ['GET', '/rooms/{roomId}/state/{eventType}/{stateKey}'],
  ['PUT', '/rooms/{roomId}/state/{eventType}/{stateKey}'],
  ['PUT', '/rooms/{roomId}/typing/{userId}'],
  ['POST', '/rooms/{roomId}/unban'],
  ['POST', '/rooms/{roomId}/upgrade'],
  ['POST', '/search'],
  ['PUT', '/sendToDevice/{eventType}/{txnId}'],
  ['GET', '/sync'],
  ['GET', '/thirdparty/location'],
  ['GET', '/thirdparty/location/{protocol}'],
  ['GET', '/thirdparty/protocol/{protocol}'],
  ['GET', '/thirdparty/protocols'],
  ['GET', '/thirdparty/user'],
  ['GET', '/thirdparty/user/{protocol}'],
  ['GET', '/user/{userId}/account_data/{type}'],
  ['PUT', '/user/{userId}/account_data/{type}'],
  ['POST', '/user/{userId}/filter'],
  ['GET', '/user/{userId}/filter/{filterId}'],
  ['POST', '/user/{userId}/openid/request_token'],
  ['GET', '/user/{userId}/rooms/{roomId}/account_data/{type}'],
  ['PUT', '/user/{userId}/rooms/{roomId}/account_data/{type}'],
  ['GET', '/user/{userId}/rooms/{roomId}/tags'],
  ['DELETE', '/user/{userId}/rooms/{roomId}/tags/{tag}'],
  ['PUT', '/user/{userId}/rooms/{roomId}/tags/{tag}'],
  ['POST', '/user_directory/search'],
  ['GET', '/voip/turnServer'],
];

/** The content repository of r0.6.1, under /_matrix/media/r0 (matrix-nio 0.20 uploads and downloads there). */
const R0_MEDIA_ENDPOINTS: [string, string][] = [
  ['GET', '/config'],
  ['GET', '/download/{serverName}/{mediaId}'],
  ['GET', '/download/{serverName}/{mediaId}/{fileName}'],
  ['GET', '/preview_url'],
  ['GET', '/thumbnail/{serverName}/{mediaId}'],
  ['POST', '/upload'],
];
const MEDIA_V3 = '/_matrix/media/v3';

/**
 * r0 endpoints the server serves under no prefix at all, and why (media ones by their full path). When one of them is served, its route is declared
 * `r0: true` and it leaves this list (the first test below says so).
 */
const NOT_SERVED: Record<string, string> = {
  'PUT /directory/list/appservice/{networkId}/{roomId}': 'no application services',
  'GET /events': 'the pre-/sync event stream, deprecated since r0 and gone from v1.x',
  'GET /events/{eventId}': 'the pre-/sync event stream, deprecated since r0 and gone from v1.x',
  'GET /initialSync': 'the pre-/sync event stream, deprecated since r0 and gone from v1.x',
  'GET /rooms/{roomId}/initialSync': 'the pre-/sync event stream, deprecated since r0 and gone from v1.x',
  'GET /login/sso/redirect': '/login offers no m.login.sso flow',
  'POST /rooms/{roomId}/report/{eventId}': 'not served yet',
  'POST /search': 'not served: the server cannot search ciphertext',
};

/** A value for each path parameter, so that every r0 path is a concrete request. */
const SAMPLE: Record<string, string> = {
  userId: '@nobody:test.local',
  roomId: '!nowhere:test.local',
  roomIdOrAlias: '!nowhere:test.local',
  roomAlias: '#nothing:test.local',
  eventId: '$nothing',
  txnId: 'txn-r0',
  eventType: 'm.room.message',
  stateKey: 'sk',
  deviceId: 'NODEVICE',
  type: 'org.example.r0',
  filterId: '1',
  tag: 'u.r0',
  protocol: 'irc',
  receiptType: 'm.read',
  kind: 'override',
  ruleId: 'org.example.r0',
  networkId: 'irc',
  serverName: 'test.local',
  mediaId: 'nomedia',
  fileName: 'f.bin',
};

const key = (method: string, path: string) => `${method} ${path}`;
const concrete = (path: string, sample: Record<string, string> = SAMPLE) => path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(sample[name] ?? name));

/** One r0 endpoint: its r0 path, the current path that must serve it the same way, and its key in NOT_SERVED. */
interface R0Entry {
  method: string;
  r0: string;
  current: string;
  key: string;
}
const ENTRIES: R0Entry[] = [
  ...R0_ENDPOINTS.map(([method, p]) => ({ method, r0: CLIENT_R0 + p, current: CLIENT_V3 + p, key: key(method, p) })),
  ...R0_MEDIA_ENDPOINTS.map(([method, p]) => ({ method, r0: MEDIA_R0 + p, current: MEDIA_V3 + p, key: key(method, MEDIA_R0 + p) })),
];

/** Which route serves a v3 request: the router, built from the route table's own paths, decides. */
const v3Router = new Router({ strict: false });
const byLayer = new Map<string, Route>();
for (const r of allRoutes) {
  v3Router.register(r.path, [r.method], async () => {});
  byLayer.set(key(r.method, r.path), r);
}
function routeFor(method: string, v3Path: string): Route | undefined {
  const layer = v3Router.match(v3Path, method).pathAndMethod.find((l) => l.methods.includes(method));
  return layer ? byLayer.get(key(method, String(layer.path))) : undefined;
}

describe('the r0 aliases in the route table', () => {
  test('exactly the r0 endpoints the server serves are declared r0: true, and nothing a later version added', () => {
    const problems: string[] = [];
    const covered = new Set<Route>();
    for (const { method, current, key: k } of ENTRIES) {
      const served = routeFor(method, concrete(current));
      if (served) covered.add(served);
      if (served && k in NOT_SERVED) problems.push(`${k} is served now (${served.operationId}): declare it r0: true and take it off NOT_SERVED`);
      else if (!served && !(k in NOT_SERVED)) problems.push(`${k} existed in r0 but no route serves it`);
      else if (served && !served.r0) problems.push(`${k} existed in r0: declare ${served.operationId} with r0: true`);
    }
    for (const r of allRoutes) {
      if (r.r0 && !covered.has(r)) problems.push(`${r.method} ${r.path} (${r.operationId}) did not exist in r0.6.1: no r0 alias`);
    }
    expect(problems).toEqual([]);
    // The list is r0.6.1's: 112 client operations, two pairs of them on one method and path (POST
    // /rooms/{roomId}/invite for a user or a third party, GET /events to sync or to peek), and /pushrules/global/.
    expect(R0_ENDPOINTS.length).toBe(111);
    expect(Object.keys(NOT_SERVED).filter((k) => !ENTRIES.some((e) => e.key === k))).toEqual([]);
  });

  test('servedPaths: a v3 route declared r0 answers on both prefixes; other routes on their own path only', () => {
    const whoami = allRoutes.find((r) => r.operationId === 'getTokenOwner')!;
    expect(servedPaths(whoami)).toEqual([`${CLIENT_V3}/account/whoami`, `${CLIENT_R0}/account/whoami`]);
    const refresh = allRoutes.find((r) => r.operationId === 'refresh')!;
    expect(servedPaths(refresh)).toEqual([`${CLIENT_V3}/refresh`]);
    expect(servedPaths({ ...refresh, path: `${MEDIA_V3}/upload`, r0: true })).toEqual([`${MEDIA_V3}/upload`, `${MEDIA_R0}/upload`]);
    expect(() => servedPaths({ ...refresh, path: '/_matrix/client/v1/rooms/:roomId/threads', r0: true })).toThrow(/only/);
    expect(() => servedPaths({ ...refresh, path: '/_matrix/client/v1/media/config', r0: true })).toThrow(/only/);
  });
});

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  [alice, bob] = [await registerUser(t, 'alice_r0'), await registerUser(t, 'bob_r0')];
});
afterAll(() => t?.close());

type Res = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

function send(method: string, path: string, headers: Record<string, string> = {}): Promise<Res> {
  const req = t.http[method.toLowerCase() as 'get' | 'put' | 'post' | 'delete'](path).set(headers);
  return (method === 'GET' ? req : req.send({})) as unknown as Promise<Res>;
}

/** 200 answers not checked against the schemas here, and why (each has its own test). */
const UNCHECKED_200: Record<string, string> = {
  getTurnServer: 'without TURN_URIS the answer is {} (test/http/turn.test.ts checks the configured answer)',
  getProtocols: "the official schema refers to the application-service definitions (test/http/start-up-endpoints.test.ts)",
};

/** Requests that end the caller's session or account: compared without a token only. */
const ENDS_SESSION = new Set(['logout', 'logout_all', 'deactivateAccount']);

describe('every r0 endpoint answers under r0 as under v3', () => {
  const served = ENTRIES.filter((e) => !(e.key in NOT_SERVED)).map((e) => [e.method, e.r0, e] as const);

  test.each(served)('%s %s', async (method, _r0, entry) => {
    const route = routeFor(method, concrete(entry.current))!;
    // Alice's own ids, so the requests reach the handler's own rules rather than stopping at "not yours".
    const own = { ...SAMPLE, userId: alice.userId, deviceId: alice.deviceId };
    const withToken = !ENDS_SESSION.has(route.operationId) && route.access !== 'none';
    for (const auth of withToken ? [{}, alice.auth] : [{}]) {
      const r0 = await send(method, concrete(entry.r0, own), auth);
      const v3 = await send(method, concrete(entry.current, own), auth);
      expect(r0.body.errcode).not.toBe('M_UNRECOGNIZED');
      expect([r0.status, r0.body.errcode]).toEqual([v3.status, v3.body.errcode]);
      expect(r0.headers['content-type']).toBe('application/json');
      // 200, or a user-interactive auth challenge (401 with flows), is the operation's own response; else an error.
      if (r0.status === 200 || 'flows' in r0.body) {
        if (!(route.operationId in UNCHECKED_200)) expectValidResponseById(route.operationId, r0.status, r0.body);
      } else expectMatrixError(r0.body);
    }
  });

  test('routes added after r0 are not under r0: 404 M_UNRECOGNIZED', async () => {
    const later = allRoutes.filter((r) => !r.r0 && (r.path.startsWith(`${CLIENT_V3}/`) || r.path.startsWith('/_matrix/client/v1/')));
    expect(later.map((r) => r.operationId)).toEqual(expect.arrayContaining(['refresh', 'uploadCrossSigningKeys', 'getRoomKeysVersionCurrent', 'knockRoom', 'deleteProfileField', 'getRelatingEvents', 'getSpaceHierarchy']));
    for (const r of later) {
      const path = CLIENT_R0 + r.path.replace(/^\/_matrix\/client\/v[13]/, '').replace(/\{\/:(\w+)\}/g, '/:$1').replace(/:(\w+)/g, (_, n: string) => encodeURIComponent(SAMPLE[n] ?? n));
      const res = await send(r.method, path, alice.auth);
      // DELETE /profile/... shares its path with the r0 GET and PUT: the method is refused (405) instead.
      const status = r.operationId === 'deleteProfileField' ? 405 : 404;
      expect([r.operationId, res.status, res.body.errcode]).toEqual([r.operationId, status, 'M_UNRECOGNIZED']);
    }
  });

  test('a room used only through r0 paths: create, send, read back, sync', async () => {
    const r0 = (p: string) => `${CLIENT_R0}${p}`;
    const created = await t.http.post(r0('/createRoom')).set(alice.auth).send({ invite: [bob.userId] });
    expect(created.status).toBe(200);
    const roomId = created.body.room_id as string;
    expect((await t.http.post(r0(`/join/${encodeURIComponent(roomId)}`)).set(bob.auth).send({})).status).toBe(200);
    const members = await t.http.get(r0(`/rooms/${encodeURIComponent(roomId)}/joined_members`)).set(alice.auth);
    expect(Object.keys(members.body.joined).sort()).toEqual([alice.userId, bob.userId].sort());
    const sync = await t.http.get(r0('/sync')).set(bob.auth);
    expect(sync.status).toBe(200);
    expectValidResponseById('sync', 200, sync.body);
    expect(Object.keys(sync.body.rooms.join)).toContain(roomId);
  });
});

describe('the access_token query parameter (what nio 0.20 sends)', () => {
  const WHOAMI_R0 = `${CLIENT_R0}/account/whoami`;
  const WHOAMI_V3 = `${CLIENT_V3}/account/whoami`;

  test('is accepted on r0 and v3 paths, as the advertised versions (v1.1 to v1.5) require', async () => {
    for (const path of [WHOAMI_R0, WHOAMI_V3]) {
      const res = await t.http.get(path).query({ access_token: alice.accessToken });
      expect([res.status, res.body.user_id, res.body.device_id]).toEqual([200, alice.userId, alice.deviceId]);
    }
    const versions = (await t.http.get('/_matrix/client/versions')).body.versions as string[];
    expect(versions.every((v) => /^v1\.([1-9]|1[0-9])$/.test(v))).toBe(true);
  });

  test('handlers with their own query parameters still see them, and never the token', async () => {
    const created = await t.http.post(`${CLIENT_R0}/createRoom`).query({ access_token: alice.accessToken }).send({});
    expect(created.status).toBe(200);
    const messages = await t.http
      .get(`${CLIENT_R0}/rooms/${encodeURIComponent(created.body.room_id)}/messages`)
      .query({ access_token: alice.accessToken, dir: 'b', limit: '1' });
    expect(messages.status).toBe(200);
    expect(messages.body.chunk).toHaveLength(1);
    const sync = await t.http.get(`${CLIENT_R0}/sync`).query({ access_token: alice.accessToken, timeout: '0', full_state: 'true' });
    expect(sync.status).toBe(200);
  });

  test('an unknown token in the query is M_UNKNOWN_TOKEN; empty, repeated or both query and header: M_MISSING_TOKEN', async () => {
    const unknown = await t.http.get(WHOAMI_R0).query({ access_token: 'sct_not_a_token' });
    expect([unknown.status, unknown.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    for (const q of ['access_token=', `access_token=${alice.accessToken}&access_token=${alice.accessToken}`]) {
      const res = await t.http.get(`${WHOAMI_R0}?${q}`);
      expect([res.status, res.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
      expectMatrixError(res.body, 'M_MISSING_TOKEN');
    }
    const both = await t.http.get(WHOAMI_V3).query({ access_token: alice.accessToken }).set(alice.auth);
    expect([both.status, both.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    expect(both.body.error).toMatch(/not both/);
  });

  test('routes without authentication ignore it (the OpenID userinfo reads its own access_token)', async () => {
    const res = await t.http.get(`${CLIENT_R0}/login`).query({ access_token: 'sct_not_a_token' });
    expect(res.status).toBe(200);
  });
});
