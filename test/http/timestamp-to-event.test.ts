/** GET /rooms/{roomId}/timestamp_to_event (spec v1.6): the nearest visible event in either direction, validation, access. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V1, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom, join, leave, send, setState } = roomHelpers(() => t.http);
const byTs = (u: TestUser, roomId: string, query: Record<string, string | number>) =>
  t.http.get(`${V1}/rooms/${enc(roomId)}/timestamp_to_event`).query(query).set(u.auth);

type Ev = { event_id: string; origin_server_ts: number };
/** The room as the user sees it through /messages (the same visibility rules), oldest first (stream order). */
async function timeline(u: TestUser, roomId: string): Promise<Ev[]> {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'f', limit: 1000 }).set(u.auth);
  expect(res.status).toBe(200);
  return (res.body.chunk as Ev[]).map((e) => ({ event_id: e.event_id, origin_server_ts: e.origin_server_ts }));
}
/** The rule, computed over the whole timeline: nearest by (origin_server_ts, stream order) at/after or at/before ts. */
function expected(events: Ev[], ts: number, dir: 'f' | 'b'): Ev | undefined {
  const keyed = events.map((e, i) => ({ e, i }));
  const ordered = keyed.sort((a, b) => a.e.origin_server_ts - b.e.origin_server_ts || a.i - b.i).map((x) => x.e);
  return dir === 'f' ? ordered.find((e) => e.origin_server_ts >= ts) : ordered.reverse().find((e) => e.origin_server_ts <= ts);
}
async function found(u: TestUser, roomId: string, ts: number, dir: 'f' | 'b'): Promise<Ev> {
  const res = await byTs(u, roomId, { ts, dir });
  expect(res.status).toBe(200);
  expectValidResponseById('getEventByTimestamp', 200, res.body);
  return res.body as Ev;
}

describe('timestamp_to_event', () => {
  test('nearest event forwards and backwards, events at exactly ts included, 404 past either end', async () => {
    const roomId = await createRoom(alice);
    for (let i = 0; i < 5; i++) await send(alice, roomId, i);
    const events = await timeline(alice, roomId);
    const first = events[0];
    const last = events.at(-1)!;
    expect(await found(alice, roomId, 0, 'f')).toEqual({ event_id: first.event_id, origin_server_ts: first.origin_server_ts });
    expect(await found(alice, roomId, Date.now() + 3_600_000, 'b')).toEqual({ event_id: last.event_id, origin_server_ts: last.origin_server_ts });
    for (const e of events) {
      for (const dir of ['f', 'b'] as const) {
        const hit = await found(alice, roomId, e.origin_server_ts, dir);
        expect(hit).toEqual(expected(events, e.origin_server_ts, dir));
        expect(hit.origin_server_ts).toBe(e.origin_server_ts);
      }
      // one ms off, towards the event: the same answer as the rule gives
      expect(await found(alice, roomId, e.origin_server_ts - 1, 'f')).toEqual(expected(events, e.origin_server_ts - 1, 'f'));
      expect(await found(alice, roomId, e.origin_server_ts + 1, 'b')).toEqual(expected(events, e.origin_server_ts + 1, 'b'));
    }
    const none = await byTs(alice, roomId, { ts: last.origin_server_ts + 3_600_000, dir: 'f' });
    expect(none.status).toBe(404);
    expectMatrixError(none.body, 'M_NOT_FOUND');
    const before = await byTs(alice, roomId, { ts: first.origin_server_ts - 1, dir: 'b' });
    expect(before.status).toBe(404);
    expectMatrixError(before.body, 'M_NOT_FOUND');
  });

  test('more events than one read batch at the same timestamp range: still the nearest', async () => {
    const roomId = await createRoom(alice);
    for (let i = 0; i < 120; i++) await send(alice, roomId, `b${i}`);
    const events = await timeline(alice, roomId);
    for (const e of [events[0], events[60], events.at(-1)!]) {
      expect(await found(alice, roomId, e.origin_server_ts, 'f')).toEqual(expected(events, e.origin_server_ts, 'f'));
      expect(await found(alice, roomId, e.origin_server_ts, 'b')).toEqual(expected(events, e.origin_server_ts, 'b'));
    }
  });

  test('history visibility: the answers a late joiner and a leaver get are those of the events /messages shows them', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await setState(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'joined' });
    await send(alice, roomId, 'early');
    const early = (await timeline(alice, roomId)).at(-1)!;
    await join(bob, roomId);
    await send(alice, roomId, 'seen');
    const check = async () => {
      const all = await timeline(alice, roomId);
      const bobs = await timeline(bob, roomId);
      expect(bobs.map((e) => e.event_id)).not.toContain(early.event_id);
      for (const e of all) {
        for (const dir of ['f', 'b'] as const) {
          const want = expected(bobs, e.origin_server_ts, dir);
          const res = await byTs(bob, roomId, { ts: e.origin_server_ts, dir });
          if (want) expect(res.body).toEqual(want);
          else expect([res.status, res.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
        }
      }
    };
    await check();
    await leave(bob, roomId);
    await send(alice, roomId, 'after-leave');
    await check();
    // Backwards from the future, bob's last visible event is his leave, not alice's later message.
    const all = await timeline(alice, roomId);
    expect((await found(bob, roomId, Date.now() + 3_600_000, 'b')).event_id).toBe(all.at(-2)!.event_id);
  });

  test('access: never a member 403, unknown room 404, no token 401', async () => {
    const roomId = await createRoom(alice);
    await send(alice, roomId, 'x');
    const res = await byTs(carol, roomId, { ts: 0, dir: 'f' });
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    const unknown = await byTs(carol, '!nowhere:test.local', { ts: 0, dir: 'f' });
    expect(unknown.status).toBe(404);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
    const anonymous = await t.http.get(`${V1}/rooms/${enc(roomId)}/timestamp_to_event`).query({ ts: 0, dir: 'f' });
    expect(anonymous.status).toBe(401);
  });

  test('bad parameters: 400 M_INVALID_PARAM', async () => {
    const roomId = await createRoom(alice);
    // Missing: 400 (the edge says M_MISSING_PARAM for a missing string, M_INVALID_PARAM for a missing enum, as on /messages).
    for (const query of [{ dir: 'f' }, { ts: 0 }] as Record<string, string | number>[]) {
      const res = await byTs(alice, roomId, query);
      expect(res.status).toBe(400);
      expectMatrixError(res.body);
      expect(['M_MISSING_PARAM', 'M_INVALID_PARAM']).toContain(res.body.errcode);
    }
    const bad: Record<string, string | number>[] = [
      { ts: '', dir: 'f' },
      { ts: 'abc', dir: 'f' },
      { ts: '1e3', dir: 'b' },
      { ts: '1.5', dir: 'b' },
      { ts: '99999999999999999999', dir: 'f' },
      { ts: 0, dir: 'x' },
      { ts: 0, dir: 'F' },
    ];
    for (const query of bad) {
      const res = await byTs(alice, roomId, query);
      expect([JSON.stringify(query), res.status]).toEqual([JSON.stringify(query), 400]);
      expectMatrixError(res.body, 'M_INVALID_PARAM');
    }
  });
});
