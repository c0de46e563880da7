/**
 * User-interactive auth with the account's password: the request goes once without auth; if the server answers 401
 * with a UIA session, it goes again with m.login.password in that session. The password is the one this browser
 * keeps for a device-kept account (credentials.ts), or the one the person just typed.
 */
import type { AuthDict, MatrixClient } from 'matrix-js-sdk';
import { getSession } from '../session/client';

export class PasswordNeeded extends Error {
  constructor() {
    super('Enter your password to confirm.');
  }
}

export async function withPasswordAuth<T>(client: MatrixClient, makeRequest: (auth: AuthDict | null) => Promise<T>, typed?: string): Promise<T> {
  try {
    return await makeRequest(null);
  } catch (err) {
    const e = err as { httpStatus?: number; data?: { session?: unknown } };
    if (e.httpStatus !== 401 || typeof e.data?.session !== 'string') throw err;
    const password = typed ?? getSession()?.generatedPassword;
    if (!password) throw new PasswordNeeded();
    return makeRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: client.getSafeUserId() },
      password,
      session: e.data.session,
    } as AuthDict);
  }
}
