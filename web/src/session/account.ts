/**
 * Getting an account without inventing a password: a guest account (POST /register?kind=guest) where the room
 * allows guests, or a device-kept account: a full account registered with a random password that only this browser
 * knows (stored with the session, credentials.ts), which the person can later protect with a password of their own.
 *
 * Registration is user-interactive auth (spec: "User-Interactive Authentication API"): the server's flows say what it
 * asks of a new account. This page completes m.login.dummy (an open server) and m.login.registration_token (a
 * token-gated one: the person types the invite code an administrator made, spec "Token-authenticated registration");
 * a server that refuses registration (403) is closed. The same steps keep a guest's account (settings/account.ts).
 */
import type { StoredSession } from './credentials';

const DEVICE_NAME = 'SecureComm web';
const DUMMY = 'm.login.dummy';
const TOKEN = 'm.login.registration_token';

/** Not Matrix errcodes: what the page needs to know to ask for (another) invite code. */
export const NEEDS_INVITE_CODE = 'NEEDS_INVITE_CODE';
export const INVALID_INVITE_CODE = 'INVALID_INVITE_CODE';
export const REGISTRATION_CLOSED = 'REGISTRATION_CLOSED';
export const GUESTS_OFF = 'GUESTS_OFF';

export class AccountError extends Error {
  constructor(
    message: string,
    readonly errcode?: string,
  ) {
    super(message);
  }
}

/** What the server asks of a new account: nothing (open), an invite code (token), or it makes none here (closed). */
export type Registration = 'open' | 'token' | 'closed';

async function post(baseUrl: string, path: string, body: unknown, accessToken?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  let json: Record<string, unknown> = {};
  try {
    json = (await res.json()) as Record<string, unknown>;
  } catch {
    /* not JSON: handled by the status */
  }
  return { status: res.status, json };
}

/** 32 random bytes, base64url: the browser's CSPRNG, not ours. */
export function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function sessionFrom(baseUrl: string, json: Record<string, unknown>, isGuest: boolean, generatedPassword?: string): StoredSession {
  const { user_id: userId, device_id: deviceId, access_token: accessToken } = json;
  if (typeof userId !== 'string' || typeof deviceId !== 'string' || typeof accessToken !== 'string') throw new AccountError('The server gave no session.');
  return { baseUrl, userId, deviceId, accessToken, isGuest, generatedPassword };
}

const closedError = () =>
  new AccountError(
    'This server does not create new accounts from this page: its administrator gives out accounts. Sign in if you have one.',
    REGISTRATION_CLOSED,
  );

function explain(json: Record<string, unknown>, fallback: string): AccountError {
  const errcode = typeof json.errcode === 'string' ? json.errcode : undefined;
  if (errcode === 'M_FORBIDDEN' || errcode === 'M_REGISTRATION_DISABLED') return closedError();
  if (errcode === 'M_LIMIT_EXCEEDED') return new AccountError('Too many new accounts from here just now: wait a minute and try again.', errcode);
  return new AccountError(typeof json.error === 'string' ? json.error : fallback, errcode);
}

type Flows = { stages?: unknown }[];

/** Which of the server's flows this page can complete: [dummy] or [registration_token] (with or without a dummy). */
function registrationOf(flows: Flows): Registration {
  const doable = flows
    .map((f) => (Array.isArray(f.stages) ? (f.stages as unknown[]) : []))
    .filter((stages) => stages.length > 0 && stages.every((s) => s === DUMMY || s === TOKEN));
  if (doable.some((stages) => stages.every((s) => s === DUMMY))) return 'open';
  return doable.length > 0 ? 'token' : 'closed';
}

/**
 * Asks the server what a new account needs (POST /register without auth: the flows, as every client does). Undefined
 * when the server cannot be asked now (the page then finds out when the person presses the button).
 */
export async function registrationNeeds(baseUrl: string): Promise<Registration | undefined> {
  try {
    const res = await post(baseUrl, '/_matrix/client/v3/register', {});
    if (res.status === 401) return registrationOf((res.json.flows as Flows | undefined) ?? []);
    if (res.status === 403) return 'closed';
  } catch {
    /* offline, or the server is down: unknown */
  }
  return undefined;
}

/**
 * POST /register with `body` through the server's flows: the dummy stage, or the registration token stage with
 * `inviteCode`. `accessToken`: a guest keeping its account. The 200's JSON; AccountError otherwise (NEEDS_INVITE_CODE
 * when the server asks for one and none was given, INVALID_INVITE_CODE when the server refused it).
 */
export async function registerThroughFlows(
  baseUrl: string,
  body: Record<string, unknown>,
  inviteCode: string | undefined,
  accessToken?: string,
): Promise<Record<string, unknown>> {
  const path = '/_matrix/client/v3/register';
  let res = await post(baseUrl, path, body, accessToken);
  if (res.status === 401) {
    const registration = registrationOf((res.json.flows as Flows | undefined) ?? []);
    if (registration === 'closed') throw closedError();
    const session = res.json.session;
    const code = inviteCode?.trim();
    if (registration === 'token') {
      if (!code) throw new AccountError('This server asks new people for an invite code: enter the one you were given.', NEEDS_INVITE_CODE);
      res = await post(baseUrl, path, { ...body, auth: { type: TOKEN, token: code, session } }, accessToken);
      if (res.status === 401 && res.json.errcode === 'M_FORBIDDEN') {
        throw new AccountError(
          'That invite code is not valid: check it for typos, or ask for a new one (a code can be used up or expire).',
          INVALID_INVITE_CODE,
        );
      }
      // A server whose token flow also has a dummy stage asks for it next.
      if (res.status === 401 && Array.isArray(res.json.completed) && res.json.completed.includes(TOKEN)) {
        res = await post(baseUrl, path, { ...body, auth: { type: DUMMY, session } }, accessToken);
      }
    } else {
      res = await post(baseUrl, path, { ...body, auth: { type: DUMMY, session } }, accessToken);
    }
  }
  if (res.status !== 200) throw explain(res.json, `Could not create an account (${res.status}).`);
  return res.json;
}

/** A full account whose random password stays in this browser; `inviteCode` where the server asks for one. */
export async function registerDeviceKept(baseUrl: string, inviteCode?: string): Promise<StoredSession> {
  const password = randomPassword();
  const body = { password, initial_device_display_name: DEVICE_NAME, inhibit_login: false };
  return sessionFrom(baseUrl, await registerThroughFlows(baseUrl, body, inviteCode), false, password);
}

/** A guest account: can join rooms that allow guests, nothing more. */
export async function registerGuest(baseUrl: string): Promise<StoredSession> {
  const res = await post(baseUrl, '/_matrix/client/v3/register?kind=guest', { initial_device_display_name: DEVICE_NAME });
  if (res.status === 403) throw new AccountError('This server does not let guests in.', GUESTS_OFF);
  if (res.status !== 200) throw explain(res.json, `Could not get a guest account (${res.status}).`);
  return sessionFrom(baseUrl, res.json, true);
}
