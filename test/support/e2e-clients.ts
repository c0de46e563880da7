/**
 * Real matrix-js-sdk clients with Rust crypto (in memory) for the e2e tests: creation with a traffic-recording
 * fetch, bounded waits on sdk events (never sleeps), new logins, clean shutdown, and plaintext markers for the
 * database scan (db-scan.ts).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import {
  ClientEvent,
  createClient,
  MatrixEventEvent,
  RoomEvent,
  SyncState,
  type ICreateClientOpts,
  type IStartClientOpts,
  type MatrixClient,
  type MatrixEvent,
} from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import { CryptoEvent } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { expect } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from './server.js';

type SdkLogger = NonNullable<ICreateClientOpts['logger']>;
const noop = () => {};
// js-sdk's global logger is a loglevel logger; the child loggers it makes later (e.g. one per MatrixRTC session) are
// set to debug but copy its method factory, so a factory of no-ops keeps them quiet (E2E_SDK_LOG=1 to see them).
if (!process.env.E2E_SDK_LOG) {
  const global = sdkGlobalLogger as unknown as { setLevel(level: string): void; methodFactory: () => () => void; rebuild(): void };
  global.methodFactory = () => noop;
  global.rebuild();
  global.setLevel('silent');
}
export const silentLogger: SdkLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, getChild: () => silentLogger };

export const DEADLINE_MS = 20_000;

/**
 * js-sdk arms a request-timeout timer for every request and never clears it, which would hold jest open for
 * minutes after the clients stopped: long timers are recorded and unref'd at shutdown (releaseLongTimers).
 */
const longTimers = new Set<NodeJS.Timeout>();
const realSetTimeout = globalThis.setTimeout;
export function trackLongTimers(): void {
  globalThis.setTimeout = Object.assign(
    (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): NodeJS.Timeout => {
      const timer = realSetTimeout(fn, ms, ...args);
      // 15 s: sliding sync's local timeout is the long-poll's plus 10 s (a 5 s long-poll in the e2e test).
      if ((ms ?? 0) >= 15_000) longTimers.add(timer);
      return timer;
    },
    realSetTimeout,
  ) as typeof setTimeout;
}

/** One HTTP exchange a client made: method, path, status (and, for /keys/claim, the public keys handed out). */
export interface Exchange {
  client: string;
  method: string;
  path: string;
  status: number;
  body?: unknown;
}

/** Every exchange of every client, in completion order; `traffic` emits 'exchange' for each. */
export const exchanges: Exchange[] = [];
export const traffic = new EventEmitter();

export interface E2eClient {
  client: MatrixClient;
  user: TestUser;
  name: string;
  /** Holds this client's requests matching `match` until the returned function is called. */
  hold(match: (method: string, path: string) => boolean): () => void;
}

const running = new Set<MatrixClient>();

export function baseUrlOf(t: TestServer): string {
  return `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
}

/** A client for `user` with Rust crypto in memory; `getSecretStorageKey` answers secret-storage prompts. */
export async function cryptoClient(
  t: TestServer,
  user: TestUser,
  name: string,
  opts: { secretStorageKey?: () => Uint8Array<ArrayBuffer> | undefined } = {},
): Promise<E2eClient> {
  const holds: { match: (m: string, p: string) => boolean; released: Promise<void> }[] = [];
  const fetchFn: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? 'GET').toUpperCase();
    for (const h of holds) if (h.match(method, url.pathname)) await h.released;
    const res = await fetch(input, init);
    const exchange: Exchange = { client: name, method, path: url.pathname, status: res.status };
    if (url.pathname.endsWith('/keys/claim') && res.ok) exchange.body = await res.clone().json();
    if (process.env.E2E_TRACE) process.stderr.write(`${(performance.now() / 1000).toFixed(2)} [${name}] ${method} ${url.pathname}${url.search.includes('since') ? ' (since)' : ''} -> ${res.status}\n`);
    exchanges.push(exchange);
    traffic.emit('exchange', exchange);
    return res;
  };
  const client = createClient({
    baseUrl: baseUrlOf(t),
    userId: user.userId,
    deviceId: user.deviceId,
    accessToken: user.accessToken,
    logger: silentLogger,
    fetchFn,
    cryptoCallbacks: {
      getSecretStorageKey: async ({ keys }) => {
        const key = opts.secretStorageKey?.();
        const keyId = Object.keys(keys)[0];
        return key && keyId ? [keyId, key] : null;
      },
    },
  });
  await client.initRustCrypto({ useIndexedDB: false });
  running.add(client);
  return {
    client,
    user,
    name,
    hold(match) {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const h = { match, released };
      holds.push(h);
      return () => {
        holds.splice(holds.indexOf(h), 1);
        release();
      };
    },
  };
}

/**
 * Resolves with the first value `check` returns, called now, on every listed event of the emitters and after every
 * sync the clients process; rejects at a bounded deadline. Waiting on events, never on sleeps.
 */
export function waitFor<T>(
  sources: [EventEmitter | MatrixClient, string[]][],
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = DEADLINE_MS,
): Promise<T> {
  const subs = sources.map(([e, names]) => [e as unknown as EventEmitter, [...new Set('getUserId' in e ? [...names, ClientEvent.Sync] : names)]] as const);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    // Checks run one at a time (a check may be async); an event during a check asks for one more run.
    let checking = false;
    let again = false;
    const onEvent = async () => {
      if (settled) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const value = await check();
          if (settled) return;
          if (value !== undefined) {
            done();
            resolve(value);
            return;
          }
        } while (again);
      } catch (err) {
        done();
        reject(err);
      } finally {
        checking = false;
      }
    };
    const timer = realSetTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const done = () => {
      settled = true;
      clearTimeout(timer);
      for (const [e, names] of subs) for (const n of names) e.off(n, onEvent);
    };
    for (const [e, names] of subs) for (const n of names) e.on(n, onEvent);
    onEvent();
  });
}

/** Waits for a completed exchange (already made or still to come) that `match` accepts. */
export function waitForExchange(match: (x: Exchange) => boolean, what: string, since = 0): Promise<Exchange> {
  return waitFor([[traffic, ['exchange']]], () => exchanges.slice(since).find(match), what);
}

/** Starts the sync loop (`/sync`, or sliding sync with `opts.slidingSync`) and resolves after the first sync. */
export async function startSyncing(c: E2eClient, opts: IStartClientOpts = {}): Promise<void> {
  const { client } = c;
  const ready = waitFor(
    [[client, [ClientEvent.Sync]]],
    () => (client.getSyncState() === SyncState.Prepared || client.getSyncState() === SyncState.Syncing ? true : undefined),
    `${c.name}'s first sync`,
  );
  const since = exchanges.length;
  await client.startClient({ initialSyncLimit: 30, ...opts });
  await ready;
  // The device's identity keys are on the server before anyone is asked to share room keys with it.
  await waitForExchange((x) => x.client === c.name && x.method === 'POST' && x.path.endsWith('/keys/upload') && x.status === 200, `${c.name}'s key upload`, since);
}

/**
 * A file's e2e setup: a server, users `${name}${tag}` for each name, and syncing crypto clients for alice and bob
 * (the others get a client when a test needs one).
 */
export async function startAliceAndBob<N extends string>(
  tag: string,
  others: N[] = [],
): Promise<{ t: TestServer; users: Record<'alice' | 'bob' | N, TestUser>; alice: E2eClient; bob: E2eClient }> {
  const t = await startTestServer();
  const users = {} as Record<'alice' | 'bob' | N, TestUser>;
  for (const name of ['alice', 'bob', ...others] as ('alice' | 'bob' | N)[]) users[name] = await registerUser(t, `${name}${tag}`);
  const alice = await cryptoClient(t, users.alice, 'alice');
  const bob = await cryptoClient(t, users.bob, 'bob');
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
  return { t, users, alice, bob };
}

/** Waits until the client holds the event, decrypted (the sdk retries failed decryptions when keys arrive). */
export function decrypted(c: E2eClient, roomId: string, eventId: string, what = `${c.name} to decrypt ${eventId}`): Promise<MatrixEvent> {
  const { client } = c;
  return waitFor(
    [[client, [MatrixEventEvent.Decrypted, RoomEvent.Timeline]]],
    () => {
      const ev = client.getRoom(roomId)?.findEventById(eventId);
      if (!ev || ev.isBeingDecrypted() || ev.isDecryptionFailure() || ev.getType() === 'm.room.encrypted') return undefined;
      return ev;
    },
    what,
  );
}

/** Waits until the client decrypts the event, and checks that it is the text message `text` from `sender`, sent encrypted. */
export async function expectDecryptedMessage(c: E2eClient, roomId: string, eventId: string, text: string, sender: string): Promise<void> {
  const ev = await decrypted(c, roomId, eventId);
  expect(ev.getWireType()).toBe('m.room.encrypted');
  expect(ev.getType()).toBe('m.room.message');
  expect(ev.getContent().body).toBe(text);
  expect(ev.getSender()).toBe(sender);
}

/** Waits until `c`'s crypto knows the device (after a device-list change reached it through its sync). */
export function knowsDevice(c: E2eClient, user: TestUser): Promise<true> {
  return waitFor(
    [[c.client, [CryptoEvent.DevicesUpdated]]],
    async () => ((await c.client.getCrypto()!.getUserDeviceInfo([user.userId])).get(user.userId)?.has(user.deviceId) ? true : undefined),
    `${c.name} to know ${user.userId}'s device ${user.deviceId}`,
  );
}

/** Waits until the client has joined the room. */
export function joined(c: E2eClient, roomId: string): Promise<true> {
  return waitFor([[c.client, [RoomEvent.MyMembership]]], () => (c.client.getRoom(roomId)?.getMyMembership() === 'join' ? true : undefined), `${c.name} to be in ${roomId}`);
}

/** Waits until `c` sees `userId` with the given membership in the room. */
export function seesMembership(c: E2eClient, roomId: string, userId: string, membership: string): Promise<true> {
  return waitFor(
    [[c.client, [RoomEvent.Timeline]]],
    () => (c.client.getRoom(roomId)?.getMember(userId)?.membership === membership ? true : undefined),
    `${c.name} to see ${userId} ${membership}`,
  );
}

/** Waits until the client has an invite to some room, and returns its id. */
export function invitedRoom(c: E2eClient): Promise<string> {
  return waitFor(
    [[c.client, [ClientEvent.Room, RoomEvent.MyMembership]]],
    () => c.client.getRooms().find((r) => r.getMyMembership() === 'invite')?.roomId,
    `${c.name} to be invited`,
  );
}

/** A new device of an existing account: password login over HTTP. */
export async function loginNewDevice(t: TestServer, user: TestUser): Promise<TestUser> {
  const localpart = user.userId.slice(1, user.userId.indexOf(':'));
  const res = await t.http
    .post('/_matrix/client/v3/login')
    .send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: localpart }, password: user.password });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...user, deviceId: res.body.device_id, accessToken: res.body.access_token, auth: { Authorization: `Bearer ${res.body.access_token}` } };
}

/** Stops one client (its sync loop and its crypto machine). */
export function stop(c: E2eClient): void {
  c.client.stopClient();
  running.delete(c.client);
}

/** Stops every client still running and lets the sdk's long request timers go. */
export function stopAll(): void {
  for (const client of running) client.stopClient();
  running.clear();
  releaseLongTimers();
}

/** Lets the recorded long timers go (they no longer hold the process open) and restores setTimeout. */
export function releaseLongTimers(): void {
  for (const timer of longTimers) timer.unref();
  globalThis.setTimeout = realSetTimeout;
}

/**
 * Distinctive plaintexts for a test file: `plain(what)` makes one (with the file's random tag) and records it in
 * `all`, which the database scan at the end looks for.
 */
export function plaintextTracker(): { tag: string; all: string[]; plain(what: string): string; word(what: string): string } {
  const tag = randomBytes(4).toString('hex');
  const all: string[] = [];
  const mark = (text: string) => {
    all.push(text);
    return text;
  };
  return {
    tag,
    all,
    plain: (what) => mark(`plaintext ${what} zq${tag}`),
    /**
     * A marker shaped like base64 (no spaces, a length base64 can have): the policy cannot tell it from ciphertext,
     * so it is refused only for where it is, or accepted where ciphertext goes (then the scan must not find it after
     * a redaction or an erasure).
     */
    word(what) {
      const text = `plaintext${what}zq${tag}`.replace(/[^A-Za-z0-9]/g, '');
      return mark(text.length % 4 === 1 ? `${text}A` : text);
    },
  };
}
