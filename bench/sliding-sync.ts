/**
 * The bench's sliding-sync side (MSC4186 at its unstable path, as Element X speaks it): one connection per member
 * for the fan-out (`--sliding-sync`), and the room-list timing (`--room-list N`): a user in N rooms opens new
 * connections for the first page of a 20-room window, then an open connection gets one new message at a time.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client, createRoom, keepAliveAgent, mapLimit, megolmContent, register, sendPath, type BenchUser, type HttpResult } from './client.js';
import { round, summarize, table, type Summary } from './stats.js';

export const SLIDING_SYNC_PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

export function slidingSyncPath(pos: string | undefined, timeoutMs: number): string {
  const q = new URLSearchParams({ timeout: String(timeoutMs) });
  if (pos !== undefined) q.set('pos', pos);
  return `${SLIDING_SYNC_PATH}?${q.toString()}`;
}

/** One connection's state on the client side: its pos and its to_device token. */
export interface Connection {
  pos?: string;
  toDeviceSince?: string;
}

/** The request Element X makes for its room list, more or less: one window, a few state types, every extension. */
export function slidingSyncBody(c: Connection, window: number, timelineLimit: number): Record<string, unknown> {
  return {
    lists: {
      all: {
        ranges: [[0, window - 1]],
        timeline_limit: timelineLimit,
        required_state: [['m.room.encryption', ''], ['m.room.name', ''], ['m.room.avatar', ''], ['m.room.member', '$LAZY']],
      },
    },
    extensions: {
      to_device: { enabled: true, ...(c.toDeviceSince !== undefined ? { since: c.toDeviceSince } : {}) },
      e2ee: { enabled: true },
      account_data: { enabled: true },
      receipts: { enabled: true },
      typing: { enabled: true },
    },
  };
}

type Timeline = { limited: boolean; events: { type: string; event_id: string }[] };

/** Takes a response's pos and to_device token into the connection; the rooms' timelines. */
export function readSlidingSync(c: Connection, body: any): Timeline[] {
  c.pos = body.pos;
  const next = body.extensions?.to_device?.next_batch;
  if (typeof next === 'string') c.toDeviceSince = next;
  return Object.values((body.rooms ?? {}) as Record<string, { timeline?: Timeline['events']; limited?: boolean }>).map((r) => ({ limited: r.limited === true, events: r.timeline ?? [] }));
}

export function slidingSyncRequest(client: Client, user: BenchUser, c: Connection, timeoutMs: number, window = 20, timelineLimit = 100): Promise<HttpResult> {
  return client.request('POST', slidingSyncPath(c.pos, timeoutMs), { token: user.token, body: slidingSyncBody(c, window, timelineLimit), timeoutMs: timeoutMs + 30_000 });
}

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

export interface RoomListOptions {
  sizes: number[];
  samples: number;
  registerConcurrency: number;
}

/**
 * For each account size: one user creates that many rooms; `samples` new connections time the first page of a
 * 20-room window (timeline_limit 1); then one open connection long-polls while one message at a time goes to a
 * random room, timing send-to-delivery (the incremental response should cost the same whatever the account size).
 */
export async function roomList(url: string, opts: RoomListOptions, tag: string) {
  const client = new Client(url, keepAliveAgent(opts.registerConcurrency * 2 + 4));
  const results = [];
  for (const size of opts.sizes) {
    const user = await register(client, `list${size}_${tag}`);
    const started = performance.now();
    const rooms = await mapLimit(Array.from({ length: size }, (_, i) => i), opts.registerConcurrency, async (i) => {
      const roomId = await createRoom(client, user);
      if ((i + 1) % 200 === 0) log(`created ${i + 1}/${size} rooms`);
      return roomId;
    });
    log(`user in ${size} rooms (created in ${round((performance.now() - started) / 1000)} s)`);
    const firstPage: number[] = [];
    let counted: number | undefined;
    let windowRooms = 0;
    for (let i = 0; i < opts.samples; i++) {
      const c: Connection = {};
      const res = await slidingSyncRequest(client, user, c, 0, 20, 1);
      if (res.status !== 200) throw new Error(`first page: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      firstPage.push(res.ms);
      counted = res.body.lists?.all?.count;
      windowRooms = Object.keys(res.body.rooms ?? {}).length;
    }
    // Incremental: one open connection, one new message at a time in a random room.
    const c: Connection = {};
    readSlidingSync(c, (await slidingSyncRequest(client, user, c, 0, 20, 1)).body);
    const incremental: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const pending = slidingSyncRequest(client, user, c, 30_000, 20, 1);
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      const sent = await client.request('PUT', sendPath(rooms[Math.floor(Math.random() * rooms.length)], `l${tag}.${size}.${i}`), { token: user.token, body: megolmContent(user, 300) });
      if (sent.status !== 200) throw new Error(`send: HTTP ${sent.status}`);
      let res = await pending;
      // Until the response that carries the event (an earlier wake may answer first).
      for (;;) {
        if (res.status !== 200) throw new Error(`incremental: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        const timelines = readSlidingSync(c, res.body);
        if (timelines.some((t) => t.events.some((e) => e.event_id === sent.body.event_id))) break;
        res = await slidingSyncRequest(client, user, c, 30_000, 20, 1);
      }
      incremental.push(res.endedAt - t0);
    }
    results.push({ rooms: size, listCount: counted ?? null, windowRooms, firstPageMs: summarize(firstPage), incrementalDeliveryMs: summarize(incremental), loadavg1: round(os.loadavg()[0], 2) });
  }
  client.agent.destroy();
  return results;
}

export function printRoomList(results: Awaited<ReturnType<typeof roomList>>): void {
  const f = (s: Summary) => `${s.p50 ?? '-'}/${s.p99 ?? '-'}/${s.max ?? '-'}`;
  console.log('\nSliding sync room list: first page of a 20-room window (new connection, timeline_limit 1), and one new message to an open connection');
  console.log(
    table(
      ['rooms', 'list count', 'rooms sent', 'first page ms p50/p99/max', 'incremental delivery ms p50/p99/max', 'load1'],
      results.map((r) => [r.rooms, r.listCount, r.windowRooms, f(r.firstPageMs), f(r.incrementalDeliveryMs), r.loadavg1]),
    ),
  );
}
