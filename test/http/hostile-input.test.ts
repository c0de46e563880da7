/**
 * The input gate (src/api/input-gate.ts) and bounded filters, tried as a hostile client would: NUL characters and
 * unpaired surrogates in every place a client can put them, malformed percent-encoding, bodies that are not UTF-8,
 * overlong values, deep JSON, and the worst wildcard patterns. Every refusal is a 4xx Matrix error and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { changedTables, dbFingerprint, type DbFingerprint } from '../support/db-state.js';
import { V3, roomHelpers } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let roomId: string;
let room: string;
let before: DbFingerprint;
const rooms = roomHelpers(() => t.http);

beforeAll(async () => {
  t = await startTestServer();
  alice = await registerUser(t);
  bob = await registerUser(t);
  roomId = await rooms.createRoom(alice, { preset: 'public_chat' });
  room = encodeURIComponent(roomId);
  for (let i = 0; i < 20; i++) await rooms.send(alice, roomId, i);
});
afterAll(() => t?.close());

type Res = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

function expectRefused(res: Res, status: number, errcode: string) {
  expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status, errcode });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(typeof res.body.error).toBe('string');
}

/** Runs `fn`, then checks that the database is exactly as before it. */
async function writesNothing(fn: () => Promise<void>) {
  before = await dbFingerprint(t.hs.sql);
  await fn();
  expect(changedTables(before, await dbFingerprint(t.hs.sql))).toEqual([]);
}

/** Sends the bytes as they are (superagent would JSON-encode a Buffer sent as application/json; the server reads any type as JSON). */
const raw = (method: 'put' | 'post', path: string, body: string | Buffer) =>
  t.http[method](path).set(alice.auth).set('Content-Type', typeof body === 'string' ? 'application/json' : 'application/octet-stream').send(body);

describe('path parameters', () => {
  const paths = (seg: string) => [
    ['get', `${V3}/profile/${seg}`],
    ['get', `${V3}/profile/@x${seg}:test.local/displayname`],
    ['put', `${V3}/rooms/${room}/send/m.room.encrypted/${seg}`],
    ['put', `${V3}/rooms/${seg}/send/m.room.encrypted/t1`],
    ['put', `${V3}/rooms/${room}/state/m.room.topic/${seg}`],
    ['get', `${V3}/rooms/${room}/event/${seg}`],
    ['get', `${V3}/directory/room/%23a${seg}:test.local`],
    ['put', `${V3}/user/${encodeURIComponent(alice.userId)}/account_data/${seg}`],
    ['get', `${V3}/devices/${seg}`],
    ['put', `${V3}/sendToDevice/m.dummy/${seg}`],
    ['post', `${V3}/join/${seg}`],
    ['get', `${V3}/pushrules/global/content/${seg}`],
  ] as const;

  test.each([
    ['a NUL', '%00'],
    ['a NUL inside a value', 'abc%00def'],
    ['an encoded surrogate (not UTF-8)', '%ED%A0%80'],
    ['a truncated escape', '%E0%A4'],
    ['a bad escape', '%zz'],
    ['a lone %', 'a%'],
    ['an overlong UTF-8 NUL', '%C0%80'],
  ])('%s is 400 M_INVALID_PARAM on every operation', async (_what, seg) => {
    await writesNothing(async () => {
      for (const [method, path] of paths(seg)) {
        const res = await t.http[method](path).set(alice.auth).send(method === 'get' ? undefined : {});
        expectRefused(res, 400, 'M_INVALID_PARAM');
      }
    });
  });

  test('a path segment over 1024 bytes is 400; a URL over 8192 bytes is 414; one past the HTTP parser is refused too', async () => {
    await writesNothing(async () => {
      expectRefused(await t.http.get(`${V3}/profile/${'@'.repeat(1025)}`).set(alice.auth), 400, 'M_INVALID_PARAM');
      expectRefused(await t.http.get(`${V3}/profile/${'%C3%A9'.repeat(600)}`).set(alice.auth), 400, 'M_INVALID_PARAM');
      expectRefused(await t.http.get(`${V3}/profile/@a:b?${'x=1&'.repeat(2100)}`).set(alice.auth), 414, 'M_TOO_LARGE');
      expect((await t.http.get(`${V3}/profile/${'a/'.repeat(20_000)}`).set(alice.auth)).status).toBe(431);
    });
  });
});

describe('query parameters', () => {
  test.each([
    ['a NUL value', 'from=%00'],
    ['a NUL in a name', 'a%00b=1'],
    ['an encoded surrogate', 'from=%ED%B0%80'],
    ['malformed encoding', 'from=%G0'],
    ['a NUL access token', 'access_token=%00'],
    ['a NUL inside JSON', `filter=${encodeURIComponent('{"types":["\\u0000"]}')}`],
    ['a lone surrogate inside JSON', `filter=${encodeURIComponent('{"types":["\\ud800"]}')}`],
    ['a lone surrogate in a JSON key', `filter=${encodeURIComponent('{"\\udfff":1}')}`],
    ['JSON nested 101 deep', `filter=${encodeURIComponent(`${'{"a":'.repeat(101)}1${'}'.repeat(101)}`)}`],
    ['too many parameters', Array.from({ length: 51 }, (_, i) => `p${i}=1`).join('&')],
  ])('%s is 400 M_INVALID_PARAM', async (_what, query) => {
    await writesNothing(async () => {
      // Each of these reads a `filter` parameter as JSON.
      for (const path of [`${V3}/rooms/${room}/messages`, `${V3}/sync`, `${V3}/rooms/${room}/context/%24x`]) {
        expectRefused(await t.http.get(`${path}?${query}`).set(alice.auth), 400, 'M_INVALID_PARAM');
      }
    });
  });

  test('a valid query still works, + is a space and a UTF-8 escape decodes', async () => {
    const res = await t.http.get(`${V3}/rooms/${room}/messages?dir=b&limit=2&filter=${encodeURIComponent('{"types":["m.room.*"]}')}`).set(alice.auth);
    expect(res.status).toBe(200);
    expect(res.body.chunk).toHaveLength(2);
    expect((await t.http.post(`${V3}/user_directory/search?x=%C3%A9+%F0%9F%98%80`).set(alice.auth).send({ search_term: 'user' })).status).toBe(200);
  });
});

describe('JSON bodies', () => {
  const targets = () => [
    ['put', `${V3}/rooms/${room}/state/m.room.topic/`],
    ['put', `${V3}/user/${encodeURIComponent(alice.userId)}/account_data/org.example.x`],
    ['post', `${V3}/createRoom`],
    ['post', `${V3}/user/${encodeURIComponent(alice.userId)}/filter`],
    ['put', `${V3}/profile/${encodeURIComponent(alice.userId)}/displayname`],
    ['post', `${V3}/keys/upload`],
    ['put', `${V3}/rooms/${room}/send/m.room.encrypted/body1`],
  ] as const;

  test.each([
    ['a NUL in a string', '{"topic": "a\\u0000b"}'],
    ['a NUL in a key', '{"topic": "x", "a\\u0000": 1}'],
    ['a lone high surrogate in a string', '{"topic": "\\ud800"}'],
    ['a lone low surrogate in a string', '{"topic": "x\\udc00y"}'],
    ['a reversed pair', '{"topic": "\\udc00\\ud800"}'],
    ['a lone surrogate in a key', '{"\\ud800": "x"}'],
    ['a lone surrogate deep inside', `{"topic": "x", "deep": ${'['.repeat(50)}"\\udbff"${']'.repeat(50)}}`],
    ['nesting 101 deep', `{"topic": "x", "deep": ${'['.repeat(101)}${']'.repeat(101)}}`],
    ['nesting 100000 deep', `{"topic": "x", "deep": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`],
    ['an integer past 2^53-1', '{"topic": "x", "n": 9007199254740992}'],
    ['a number that overflows to Infinity', '{"topic": "x", "n": -1e400}'],
  ])('%s is 400 M_BAD_JSON everywhere', async (_what, text) => {
    await writesNothing(async () => {
      for (const [method, path] of targets()) expectRefused(await raw(method, path, text), 400, 'M_BAD_JSON');
    });
  });

  test.each([
    ['an invalid UTF-8 byte', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['an overlong UTF-8 NUL', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0x80, 0x22, 0x7d])],
    ['a UTF-8 encoded surrogate', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
    ['a truncated sequence', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d])],
    ['Latin-1 text', Buffer.from('{"topic": "caf\u00e9"}', 'latin1')],
  ])('a body with %s is 400 M_NOT_JSON', async (_what, bytes) => {
    await writesNothing(async () => {
      for (const [method, path] of targets()) expectRefused(await raw(method, path, bytes), 400, 'M_NOT_JSON');
    });
  });

  test('numbers within the JSON integer range but past an integer column are 400, not a database error', async () => {
    const version = (await t.http.post(`${V3}/room_keys/version`).set(alice.auth).send({ algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: 'k' } })).body.version;
    await writesNothing(async () => {
      const session = { first_message_index: 2 ** 31, forwarded_count: 0, is_verified: false, session_data: { ciphertext: 'c', mac: 'm', ephemeral: 'e' } };
      expectRefused(await t.http.put(`${V3}/room_keys/keys/${room}/S1?version=${version}`).set(alice.auth).send(session), 400, 'M_BAD_JSON');
      expectRefused(await t.http.put(`${V3}/room_keys/keys/${room}/S1?version=${version}`).set(alice.auth).send({ ...session, first_message_index: 0, forwarded_count: 2 ** 40 }), 400, 'M_BAD_JSON');
    });
  });

  test('surrogate pairs, escaped or not, and other Unicode are accepted', async () => {
    const res = await raw('put', `${V3}/rooms/${room}/state/m.room.topic/`, '{"topic": "\\ud83d\\ude00 😀 \\u00e9 \\uffff"}');
    expect(res.status).toBe(200);
    const topic = await t.http.get(`${V3}/rooms/${room}/state/m.room.topic/`).set(alice.auth);
    expect(topic.body.topic).toBe('😀 😀 é \uffff');
  });
});

describe('headers', () => {
  test('an Authorization header with non-ASCII text is 400 M_INVALID_PARAM', async () => {
    await writesNothing(async () => {
      expectRefused(await t.http.get(`${V3}/account/whoami`).set('Authorization', 'Bearer caf\u00e9'), 400, 'M_INVALID_PARAM');
    });
  });

  test('a NUL in a header is refused by the HTTP parser, and the server keeps serving', async () => {
    const { port } = t.server.address() as AddressInfo;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET ${V3}/account/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0000b\r\n\r\n`, 'latin1');
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await t.http.get(`${V3}/account/whoami`).set(alice.auth)).status).toBe(200);
  });
});

describe('filters', () => {
  test('filter lists are bounded: 101 type patterns or a 256-character pattern is refused', async () => {
    const path = `${V3}/user/${encodeURIComponent(alice.userId)}/filter`;
    await writesNothing(async () => {
      const many = { room: { timeline: { types: Array.from({ length: 101 }, (_, i) => `t${i}`) } } };
      expectRefused(await t.http.post(path).set(alice.auth).send(many), 400, 'M_BAD_JSON');
      expectRefused(await t.http.post(path).set(alice.auth).send({ account_data: { not_types: ['a'.repeat(256)] } }), 400, 'M_BAD_JSON');
      const inline = encodeURIComponent(JSON.stringify(many));
      expectRefused(await t.http.get(`${V3}/sync?filter=${inline}`).set(alice.auth), 400, 'M_INVALID_PARAM');
    });
    const fine = { room: { timeline: { types: Array.from({ length: 100 }, (_, i) => `t${i}`) } } };
    expect((await t.http.post(path).set(alice.auth).send(fine)).status).toBe(200);
  });

  /**
   * Patterns that make a backtracking matcher try exponentially many splits of the event types in the room (the
   * regular expression built from `************x` alone took longer than 10 s against `m.room.history_visibility`).
   */
  function worstPatterns(): string[] {
    const out: string[] = [];
    for (let i = 0; out.length < 100; i++) {
      const unit = ['*', '*m', '*.', '**r*o', '*e*'][i % 5];
      out.push((unit.repeat(Math.ceil(250 / unit.length)).slice(0, 250) + `x${i}`).slice(0, 255));
    }
    return out;
  }

  test('the worst wildcard patterns cost little, and another client is served while they run', async () => {
    const filter = { room: { timeline: { types: worstPatterns(), not_types: worstPatterns(), limit: 50 }, state: { not_types: worstPatterns() } } };
    const id = (await t.http.post(`${V3}/user/${encodeURIComponent(alice.userId)}/filter`).set(alice.auth).send(filter)).body.filter_id as string;
    expect(typeof id).toBe('string');
    const hostile = [
      ...Array.from({ length: 6 }, () => t.http.get(`${V3}/sync?filter=${id}`).set(alice.auth)),
      // Inline, as /messages takes it; 24 patterns keep the URL under its bound.
      ...Array.from({ length: 6 }, () => t.http.get(`${V3}/rooms/${room}/messages?dir=b&limit=100&filter=${encodeURIComponent(JSON.stringify({ types: worstPatterns().slice(0, 12), not_types: worstPatterns().slice(12, 24) }))}`).set(alice.auth)),
    ];
    const started = Date.now();
    const bystander = t.http.get(`${V3}/account/whoami`).set(bob.auth).then((res) => ({ status: res.status, ms: Date.now() - started }));
    const served = await bystander;
    const results = await Promise.all(hostile);
    const total = Date.now() - started;
    expect(served.status).toBe(200);
    // A backtracking matcher held the event loop for tens of seconds; the bystander is answered at once.
    expect(served.ms).toBeLessThan(3000);
    expect(total).toBeLessThan(10_000);
    for (const res of results) expect(res.status).toBe(200);
    // None of the patterns matches a type in the room, so the filtered timelines are empty.
    expect(results[6].body.chunk).toEqual([]);
  });
});
