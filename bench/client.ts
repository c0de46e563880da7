/**
 * Bench HTTP client: keep-alive node:http requests with JSON bodies and round-trip timing, plus the few Matrix
 * calls the benchmark needs (register through the UIA dummy stage, upload a filter, create/join rooms, send, sync).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export const V3 = '/_matrix/client/v3';

export interface HttpResult {
  status: number;
  body: any;
  /** Round trip in ms, from the call to the end of the response body. */
  ms: number;
  /** performance.now() when the response body ended. */
  endedAt: number;
}

export interface RequestOptions {
  body?: unknown;
  token?: string;
  timeoutMs?: number;
}

/** One base URL and one keep-alive agent; remembers requests in flight so that they can all be aborted. */
export class Client {
  private readonly inflight = new Set<http.ClientRequest>();
  private readonly host: string;
  private readonly port: number;

  constructor(
    base: string,
    readonly agent: http.Agent,
  ) {
    const url = new URL(base);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const started = performance.now();
    return new Promise<HttpResult>((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => {
          this.inflight.delete(req);
          reject(err);
        });
        res.on('end', () => {
          this.inflight.delete(req);
          const endedAt = performance.now();
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, body, ms: endedAt - started, endedAt });
        });
      });
      this.inflight.add(req);
      req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${path.split('?')[0]}: client timeout`)));
      req.on('error', (err) => {
        this.inflight.delete(req);
        reject(err);
      });
      req.end(payload);
    });
  }

  /** Aborts every request still in flight (long-polls at the end of a run). */
  abortAll(): void {
    for (const req of this.inflight) req.destroy(new Error('aborted by the benchmark'));
    this.inflight.clear();
  }

  get inflightCount(): number {
    return this.inflight.size;
  }
}

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, keepAliveMsecs: 10_000 });
}

export interface BenchUser {
  userId: string;
  deviceId: string;
  token: string;
  filterId?: string;
  /** This device's fake Megolm outbound session: ids the server stores but cannot interpret. */
  sessionId: string;
  senderKey: string;
}

function expectStatus(res: HttpResult, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
}

const b64 = (bytes: number) => randomBytes(bytes).toString('base64').replace(/=+$/, '');

/** Registers a user through the UIA dummy flow (a 401 challenge, then the same request with auth). */
export async function register(client: Client, localpart: string, password = 'bench password, not secret'): Promise<BenchUser> {
  const first = await client.request('POST', `${V3}/register`, { body: { username: localpart, password } });
  expectStatus(first, 401, 'register challenge');
  const res = await client.request('POST', `${V3}/register`, {
    body: { username: localpart, password, initial_device_display_name: 'bench', auth: { type: 'm.login.dummy', session: first.body.session } },
  });
  expectStatus(res, 200, 'register');
  return { userId: res.body.user_id, deviceId: res.body.device_id, token: res.body.access_token, sessionId: b64(32), senderKey: b64(32) };
}

/**
 * Uploads a filter with a timeline limit large enough that bursts are not cut into "limited" gaps; `lazyMembers`:
 * members are lazy-loaded, as Element asks.
 */
export async function uploadFilter(client: Client, user: BenchUser, timelineLimit: number, lazyMembers = false): Promise<string> {
  const res = await client.request('POST', `${V3}/user/${encodeURIComponent(user.userId)}/filter`, {
    token: user.token,
    body: { room: { timeline: { limit: timelineLimit }, ...(lazyMembers ? { state: { lazy_load_members: true } } : {}) }, presence: { types: [] } },
  });
  expectStatus(res, 200, 'filter');
  return res.body.filter_id as string;
}

export async function createRoom(client: Client, user: BenchUser): Promise<string> {
  const res = await client.request('POST', `${V3}/createRoom`, { token: user.token, body: { preset: 'public_chat' } });
  expectStatus(res, 200, 'createRoom');
  return res.body.room_id as string;
}

export async function joinRoom(client: Client, user: BenchUser, roomId: string): Promise<void> {
  const res = await client.request('POST', `${V3}/join/${encodeURIComponent(roomId)}`, { token: user.token, body: {} });
  expectStatus(res, 200, 'join');
}

/** A well-formed Megolm m.room.encrypted content: random base64 "ciphertext" of about `bytes` characters. */
export function megolmContent(user: BenchUser, bytes: number): Record<string, unknown> {
  return {
    algorithm: 'm.megolm.v1.aes-sha2',
    sender_key: user.senderKey,
    ciphertext: b64(Math.ceil((bytes * 3) / 4)),
    session_id: user.sessionId,
    device_id: user.deviceId,
  };
}

export function sendPath(roomId: string, txnId: string): string {
  return `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/${encodeURIComponent(txnId)}`;
}

export function syncPath(since: string | undefined, timeoutMs: number, filterId: string | undefined): string {
  const q = new URLSearchParams({ timeout: String(timeoutMs) });
  if (since !== undefined) q.set('since', since);
  if (filterId !== undefined) q.set('filter', filterId);
  return `${V3}/sync?${q.toString()}`;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}
