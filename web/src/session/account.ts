/**
 * Getting an account without inventing a password: a guest account (POST /register?kind=guest) where the room
 * allows guests, or a device-kept account: a full account registered with a random password that only this browser
 * knows (stored with the session, credentials.ts), which the person can later protect with a password of their own.
 * Registration goes through user-interactive auth with m.login.dummy (what an open server asks for).
 */
import type { StoredSession } from './credentials';

const DEVICE_NAME = 'SecureComm web';

export class AccountError extends Error {
  constructor(
    message: string,
    readonly errcode?: string,
  ) {
    super(message);
  }
}

async function post(baseUrl: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  let json: Record<string, unknown> = {};
  try {
    json = (await res.json()) as Record<string, unknown>;
  } catch {
    /* not JSON: handled by the status */
  }
  return { status: res.status, json };
}

/** 32 random bytes, base64url: the browser's CSPRNG, not ours. */
function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function sessionFrom(baseUrl: string, json: Record<string, unknown>, isGuest: boolean, generatedPassword?: string): StoredSession {
  const { user_id: userId, device_id: deviceId, access_token: accessToken } = json;
  if (typeof userId !== 'string' || typeof deviceId !== 'string' || typeof accessToken !== 'string') throw new AccountError('The server gave no session.');
  return { baseUrl, userId, deviceId, accessToken, isGuest, generatedPassword };
}

function explain(json: Record<string, unknown>, fallback: string): AccountError {
  const errcode = typeof json.errcode === 'string' ? json.errcode : undefined;
  if (errcode === 'M_FORBIDDEN' || errcode === 'M_REGISTRATION_DISABLED') {
    return new AccountError('This server does not let new people create accounts from this page (its REGISTRATION setting). Ask its administrator.', errcode);
  }
  if (errcode === 'M_LIMIT_EXCEEDED') return new AccountError('Too many new accounts from here just now: wait a minute and try again.', errcode);
  return new AccountError(typeof json.error === 'string' ? json.error : fallback, errcode);
}

/** A full account whose random password stays in this browser. */
export async function registerDeviceKept(baseUrl: string): Promise<StoredSession> {
  const password = randomPassword();
  const body = { password, initial_device_display_name: DEVICE_NAME, inhibit_login: false };
  let res = await post(baseUrl, '/_matrix/client/v3/register', body);
  if (res.status === 401) {
    const flows = (res.json.flows as { stages?: string[] }[] | undefined) ?? [];
    if (!flows.some((f) => f.stages?.length === 1 && f.stages[0] === 'm.login.dummy')) {
      throw new AccountError('This server asks for a registration token to create an account; this page cannot create one yet. Ask its administrator.', 'M_FORBIDDEN');
    }
    res = await post(baseUrl, '/_matrix/client/v3/register', { ...body, auth: { type: 'm.login.dummy', session: res.json.session } });
  }
  if (res.status !== 200) throw explain(res.json, `Could not create an account (${res.status}).`);
  return sessionFrom(baseUrl, res.json, false, password);
}

/** A guest account: can join rooms that allow guests, nothing more. */
export async function registerGuest(baseUrl: string): Promise<StoredSession> {
  const res = await post(baseUrl, '/_matrix/client/v3/register?kind=guest', { initial_device_display_name: DEVICE_NAME });
  if (res.status !== 200) throw explain(res.json, `Could not get a guest account (${res.status}).`);
  return sessionFrom(baseUrl, res.json, true);
}
