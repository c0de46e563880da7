/**
 * Helpers for the account, session and device tests: logins, the two-step UIA dance with a password, token
 * checks, and row counts that prove a refused request changed nothing in the database.
 */
import type { Response } from 'supertest';
import { PASSWORD, type NewUser, type TestServer, type TestUser } from './server.js';
import { V3 } from './rooms.js';

/** Alice and Bob for the account tests: with different passwords, so that one's password never opens the other's account. */
export const ALICE_AND_BOB: NewUser[] = [{ localpart: 'alice', password: PASSWORD }, { localpart: 'bob', password: 'bob has another password' }];

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Tables an account operation may touch; counted before and after a refused request. */
const COUNTED = ['users', 'devices', 'access_tokens', 'refresh_tokens', 'uia_sessions', 'registration_tokens'] as const;
export type Counts = Record<(typeof COUNTED)[number], number>;

export async function dbCounts(t: TestServer): Promise<Counts> {
  const out = {} as Counts;
  for (const table of COUNTED) {
    const [row] = await t.hs.sql.unsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = row.n;
  }
  return out;
}

/** POST /login with m.login.password and an m.id.user identifier (localpart or full id). */
export function login(t: TestServer, user: string, password: string, extra: Record<string, unknown> = {}) {
  return t.http.post(`${V3}/login`).send({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra });
}

/** An auth dict for the m.login.password stage. */
export function passwordAuth(user: string, password: string, session?: string): Record<string, unknown> {
  return { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...(session !== undefined ? { session } : {}) };
}

/** Sends `body` without auth (expects the 401 challenge), then again with the user's password in that session. */
export async function withPasswordUia(
  t: TestServer,
  method: 'post' | 'delete',
  path: string,
  u: Pick<TestUser, 'userId' | 'password' | 'auth'>,
  body: Record<string, unknown> = {},
): Promise<Response> {
  const challenge = await t.http[method](path).set(u.auth).send(body);
  if (challenge.status !== 401 || typeof challenge.body.session !== 'string') {
    throw new Error(`expected a UIA challenge from ${method.toUpperCase()} ${path}: ${challenge.status} ${JSON.stringify(challenge.body)}`);
  }
  return t.http[method](path).set(u.auth).send({ ...body, auth: passwordAuth(u.userId, u.password, challenge.body.session) });
}

/** The status of GET /account/whoami with this token (200 while the token lives, 401 once it is dead). */
export async function whoamiStatus(t: TestServer, token: string): Promise<number> {
  return (await t.http.get(`${V3}/account/whoami`).set(bearer(token))).status;
}

/** A test user as seen by helpers, from a /login or /register response body. */
export function asUser(body: { user_id: string; device_id: string; access_token: string }, password: string): TestUser {
  return { userId: body.user_id, deviceId: body.device_id, accessToken: body.access_token, password, auth: bearer(body.access_token) };
}
