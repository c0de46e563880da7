/**
 * A small Matrix client over fetch, for tests against real server processes: every request has a deadline (a
 * hang fails the test), and a request that could not complete (the server was killed) is a result, not a throw.
 */
import { megolm } from './rooms.js';

export const V3 = '/_matrix/client/v3';
const r = encodeURIComponent;

export interface Reply {
  /** 0 when no response came (connection refused or reset, or the deadline passed: see `error`). */
  status: number;
  body: Record<string, any>;
  headers: Headers | undefined;
  error?: string;
  ms: number;
}

export const DEFAULT_DEADLINE_MS = 30_000;

export async function call(base: string, method: string, path: string, opts: { token?: string; body?: unknown; deadlineMs?: number } = {}): Promise<Reply> {
  const started = Date.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.deadlineMs ?? DEFAULT_DEADLINE_MS),
    });
    const text = await res.text();
    let body: Record<string, any> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, any>) : {};
    } catch {
      body = { unparsed: text };
    }
    return { status: res.status, body, headers: res.headers, ms: Date.now() - started };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, body: {}, headers: undefined, error: e.name === 'TimeoutError' ? 'deadline' : (e.cause?.code ?? e.message), ms: Date.now() - started };
  }
}

export interface Account {
  userId: string;
  token: string;
}

/** Registration through user-interactive auth (m.login.dummy). */
export async function register(base: string, username: string, password = 'correct horse battery staple'): Promise<Account> {
  const challenge = await call(base, 'POST', `${V3}/register`, { body: { username, password } });
  if (challenge.status !== 401) throw new Error(`register challenge: ${challenge.status} ${JSON.stringify(challenge.body)}`);
  const done = await call(base, 'POST', `${V3}/register`, { body: { username, password, auth: { type: 'm.login.dummy', session: challenge.body.session } } });
  if (done.status !== 200) throw new Error(`register: ${done.status} ${JSON.stringify(done.body)}`);
  return { userId: done.body.user_id, token: done.body.access_token };
}

export async function createRoom(base: string, who: Account, body: Record<string, unknown> = { preset: 'public_chat' }): Promise<string> {
  const res = await call(base, 'POST', `${V3}/createRoom`, { token: who.token, body });
  if (res.status !== 200) throw new Error(`createRoom: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room_id;
}

export async function join(base: string, who: Account, roomId: string): Promise<void> {
  const res = await call(base, 'POST', `${V3}/join/${r(roomId)}`, { token: who.token, body: {} });
  if (res.status !== 200) throw new Error(`join: ${res.status} ${JSON.stringify(res.body)}`);
}

export function send(base: string, who: Account, roomId: string, txnId: string, deadlineMs?: number): Promise<Reply> {
  return call(base, 'PUT', `${V3}/rooms/${r(roomId)}/send/m.room.encrypted/${r(txnId)}`, { token: who.token, body: megolm(txnId), deadlineMs });
}

/** Every m.room.encrypted event id in the room, oldest first (pages through /messages). */
export async function encryptedEventIds(base: string, who: Account, roomId: string): Promise<string[]> {
  const ids: string[] = [];
  let from: string | undefined;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ dir: 'b', limit: '100', ...(from ? { from } : {}) });
    const res = await call(base, 'GET', `${V3}/rooms/${r(roomId)}/messages?${query}`, { token: who.token });
    if (res.status !== 200) throw new Error(`messages: ${res.status} ${JSON.stringify(res.body)}`);
    for (const e of res.body.chunk as Array<{ type: string; event_id: string }>) if (e.type === 'm.room.encrypted') ids.push(e.event_id);
    if (!res.body.end || res.body.chunk.length === 0) return ids.reverse();
    from = res.body.end;
  }
  throw new Error('messages: more than 100 pages');
}

/** Calls `attempt` until it returns a value (not undefined), at most `deadlineMs`; each try is followed by a short pause. */
export async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, deadlineMs = 60_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
