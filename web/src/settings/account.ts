/**
 * The account's password, three ways:
 * - keepGuestAccount: a guest becomes a device-kept account (POST /register with the guest's own token and a random
 *   password this browser keeps, through the server's registration flows: with the invite code where it asks for
 *   one); it keeps its user id, rooms, device and keys. Trust and attachments need a full account.
 * - setPassword: the person protects the account with a password of their own (change-password with UIA by the old
 *   one: the kept random password, or the one they type); afterwards the browser keeps no password.
 * - signIn: a new browser signs in with the user id and that password (a new device), then restores its history with
 *   the recovery key or is verified from the other device.
 */
import type { MatrixClient } from 'matrix-js-sdk';
import { getClient, getSession } from '../session/client';
import { saveSession, type StoredSession } from '../session/credentials';
import { withPasswordAuth } from '../trust/uia';
import { randomPassword, registerThroughFlows } from '../session/account';

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, json };
}

const errorOf = (json: Record<string, unknown>, fallback: string) => new Error(typeof json.error === 'string' ? json.error : fallback);

/**
 * Turns this guest into a device-kept account; the page reloads with the new session (same device and keys).
 * `inviteCode` where the server asks new accounts for one (AccountError NEEDS_INVITE_CODE otherwise).
 */
export async function keepGuestAccount(inviteCode?: string): Promise<void> {
  const s = getSession();
  if (!s?.isGuest) return;
  const password = randomPassword();
  const body = { password, device_id: s.deviceId, initial_device_display_name: 'SecureComm web' };
  const json = await registerThroughFlows(window.location.origin, body, inviteCode, s.accessToken);
  if (typeof json.access_token !== 'string') throw new Error('The server gave no session.');
  // The guest's token has ended: the running client would only meet 401s until the page reloads with the new one.
  getClient()?.stopClient();
  saveSession({ ...s, accessToken: json.access_token, deviceId: String(json.device_id ?? s.deviceId), isGuest: false, generatedPassword: password });
}

/** Sets a password of the person's own; `current` is needed only when the browser keeps none. */
export async function setPassword(client: MatrixClient, newPassword: string, current?: string): Promise<void> {
  if (newPassword.length < 8) throw new Error('Use at least 8 characters.');
  await withPasswordAuth(client, (auth) => client.setPassword(auth as never, newPassword, false), current);
  const s = getSession();
  if (s) {
    const { generatedPassword: _, ...rest } = s;
    const next: StoredSession = rest;
    saveSession(next);
    Object.assign(s, next, { generatedPassword: undefined });
  }
}

/** A new device of an existing account; the caller reloads the page to start it. */
export async function signIn(user: string, password: string): Promise<void> {
  const res = await post('/_matrix/client/v3/login', {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: user.trim() },
    password,
    initial_device_display_name: 'SecureComm web',
  });
  if (res.status === 403) throw new Error('Wrong user id or password.');
  if (res.status !== 200) throw errorOf(res.json, `Could not sign in (${res.status}).`);
  const { user_id: userId, device_id: deviceId, access_token: accessToken } = res.json;
  if (typeof userId !== 'string' || typeof deviceId !== 'string' || typeof accessToken !== 'string') throw new Error('The server gave no session.');
  saveSession({ baseUrl: window.location.origin, userId, deviceId, accessToken, isGuest: false });
}
