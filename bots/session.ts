/**
 * The bot's session (user, device, access token), kept in session.json in its data directory (0600, written
 * whole): reused and checked on start, else made from an access token or a password login. A restarted bot is
 * the same device, so its crypto store still holds that device's keys.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { BotError, type BotConfig, type BotErrorKind } from './config.js';
import type { BotLogger } from './log.js';

export interface Session {
  homeserverUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
}

export const SESSION_FILE = 'session.json';

/** One request to the client-server API, with errors turned into BotErrors that say what went wrong. */
async function api(baseUrl: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(new URL(path, baseUrl), {
      method,
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...(opts.body ? { 'Content-Type': 'application/json' } : {}) },
      body: opts.body ? JSON.stringify(opts.body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new BotError('unreachable', `cannot reach the homeserver at ${baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new BotError('unreachable', `${baseUrl} does not look like a Matrix homeserver (${method} ${path}: HTTP ${res.status}, not JSON)`);
  }
  if (!res.ok) {
    const errcode = typeof json.errcode === 'string' ? json.errcode : undefined;
    const error = typeof json.error === 'string' ? json.error : `HTTP ${res.status}`;
    const kind: BotErrorKind = res.status === 401 || errcode === 'M_UNKNOWN_TOKEN' || errcode === 'M_MISSING_TOKEN' ? 'auth' : 'server';
    throw new BotError(kind, `${method} ${path}: ${errcode ?? res.status}: ${error}`, errcode);
  }
  return json;
}

async function readSession(file: string): Promise<Session | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const s = JSON.parse(text) as Partial<Session>;
  if (!s.homeserverUrl || !s.userId || !s.deviceId || !s.accessToken) throw new BotError('config', `${file} is incomplete; remove the data directory to start afresh`);
  return s as Session;
}

/** Written to a temporary file and renamed: never half a session file; mode 0600 (it holds the access token). */
async function writeSession(file: string, session: Session): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(session, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

const sameServer = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
const matchesUser = (userId: string, user: string) => userId === user || userId.slice(1, userId.indexOf(':')) === user;

async function whoami(baseUrl: string, token: string): Promise<{ userId: string; deviceId?: string }> {
  const me = await api(baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
  return { userId: String(me.user_id), deviceId: typeof me.device_id === 'string' ? me.device_id : undefined };
}

async function passwordLogin(config: BotConfig, deviceId?: string): Promise<Session> {
  if (!config.user || !config.password) throw new BotError('config', 'no session in the data directory: give an access token, or a user and a password');
  const res = await api(config.homeserverUrl, 'POST', '/_matrix/client/v3/login', {
    body: {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: config.user },
      password: config.password,
      initial_device_display_name: config.deviceName ?? 'SecureComm bot',
      ...(deviceId ? { device_id: deviceId } : {}),
    },
  }).catch((err: unknown) => {
    if (err instanceof BotError && err.errcode === 'M_FORBIDDEN') throw new BotError('auth', `login as ${config.user} refused: wrong user or password`, err.errcode);
    throw err;
  });
  return { homeserverUrl: config.homeserverUrl, userId: String(res.user_id), deviceId: String(res.device_id), accessToken: String(res.access_token) };
}

/**
 * The session for this data directory: the saved one (its token checked with whoami), else one from the given
 * access token, else a password login. A saved session's device is kept: a password re-login after its token
 * stopped working asks for the same device id, since the crypto store holds that device's keys.
 */
export async function establishSession(config: BotConfig, file: string, log: BotLogger): Promise<Session> {
  const saved = await readSession(file);
  if (saved) {
    if (!sameServer(saved.homeserverUrl, config.homeserverUrl))
      throw new BotError('config', `the data directory belongs to ${saved.homeserverUrl}, not ${config.homeserverUrl}: use another directory`);
    if (config.user && !matchesUser(saved.userId, config.user)) throw new BotError('config', `the data directory belongs to ${saved.userId}, not ${config.user}: use another directory`);
    const token = config.accessToken || saved.accessToken;
    try {
      const me = await whoami(config.homeserverUrl, token);
      if (me.userId !== saved.userId || (me.deviceId && me.deviceId !== saved.deviceId))
        throw new BotError('config', `the access token is for ${me.userId} device ${me.deviceId}, but the data directory holds ${saved.userId} device ${saved.deviceId}: use another directory`);
      const session = { ...saved, accessToken: token };
      if (token !== saved.accessToken) await writeSession(file, session);
      return session;
    } catch (err) {
      if (!(err instanceof BotError) || err.kind !== 'auth' || config.accessToken || !config.password) throw err;
      log.warn(`the saved access token was refused; logging in again as device ${saved.deviceId}`);
      const session = await passwordLogin({ ...config, user: config.user ?? saved.userId }, saved.deviceId);
      await writeSession(file, session);
      return session;
    }
  }
  let session: Session;
  if (config.accessToken) {
    const me = await whoami(config.homeserverUrl, config.accessToken).catch((err: unknown) => {
      if (err instanceof BotError && err.kind === 'auth') throw new BotError('auth', `the access token was refused by ${config.homeserverUrl} (${err.errcode ?? 'unauthorized'})`, err.errcode);
      throw err;
    });
    if (!me.deviceId) throw new BotError('config', 'the server did not say which device the access token belongs to');
    if (config.user && !matchesUser(me.userId, config.user)) throw new BotError('config', `the access token is for ${me.userId}, not ${config.user}`);
    session = { homeserverUrl: config.homeserverUrl, userId: me.userId, deviceId: me.deviceId, accessToken: config.accessToken };
  } else {
    session = await passwordLogin(config);
  }
  await writeSession(file, session);
  log.info(`new session for ${session.userId}, device ${session.deviceId}`);
  return session;
}
