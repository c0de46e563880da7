/**
 * User-interactive authentication (spec: "User-Interactive Authentication API"): sessions, flows, completed
 * stages. A session serves one purpose (one operation on one target); it ends when that operation succeeds.
 */
import { z } from 'zod';
import type { Hs } from '../hs.js';
import { MatrixError, badJson, forbidden, Codes, type Errcode, unknownError } from '../errors.js';
import * as uiaDb from '../db/uia.js';
import { selectUser } from '../db/users.js';
import { selectUsableRegistrationToken } from '../db/registration-tokens.js';
import { verifyPassword } from '../lib/passwords.js';
import { randomId } from '../lib/tokens.js';
import { parseUserIdentifier } from './user-ids.js';

/** Whether a registration token may be used now (its stage here, and the validity endpoint). */
export async function isRegistrationTokenUsable(hs: Hs, token: string): Promise<boolean> {
  return (await selectUsableRegistrationToken(hs.sql, token, Date.now())) !== undefined;
}

export type Stage = 'm.login.dummy' | 'm.login.password' | 'm.login.registration_token';

const SESSION_LIFETIME_MS = 30 * 60_000;

export interface UiaRequest {
  /** What the session authorises, including its target, e.g. "delete_devices:@a:hs:ABC". */
  purpose: string;
  flows: Stage[][];
  /** Whose password m.login.password must prove. */
  userId?: string;
}

export interface UiaPassed {
  sessionId: string;
  registrationToken: string | null;
}

/** The 401 that tells the client what to do next; with errcode only when a stage just failed. */
class UiaRequired extends MatrixError {
  constructor(
    private readonly uiaBody: Record<string, unknown>,
    private readonly failure?: { errcode: Errcode; error: string },
  ) {
    super(401, failure?.errcode ?? Codes.UNAUTHORIZED, failure?.error ?? 'Additional authentication is required.');
  }
  override body(): Record<string, unknown> {
    return this.failure ? { ...this.uiaBody, ...this.failure } : this.uiaBody;
  }
}

const authSchema = z.looseObject({
  type: z.string().optional(),
  session: z.string().optional(),
});

function challengeBody(req: UiaRequest, sessionId: string, completed: string[]): Record<string, unknown> {
  return { flows: req.flows.map((stages) => ({ stages })), params: {}, session: sessionId, completed };
}

function flowComplete(req: UiaRequest, completed: string[]): boolean {
  return req.flows.some((flow) => flow.every((s) => completed.includes(s)));
}

async function checkStage(hs: Hs, req: UiaRequest, stage: string, auth: Record<string, unknown>): Promise<{ ok: boolean; error?: string; token?: string }> {
  switch (stage) {
    case 'm.login.dummy':
      return { ok: true };
    case 'm.login.password': {
      const password = auth.password;
      if (typeof password !== 'string') throw badJson("auth.password must be a string.");
      const claimed = parseUserIdentifier(hs.config.serverName, auth.identifier, auth.user);
      // Each attempt counts against the account's login limit: a stolen access token must not allow password guessing.
      if (req.userId !== undefined) await hs.limits.consume('login', `user:${req.userId}`);
      const user = claimed === req.userId ? await selectUser(hs.sql, claimed) : undefined;
      const ok = await verifyPassword(user?.passwordHash, password);
      return ok ? { ok } : { ok, error: 'Invalid username or password.' };
    }
    case 'm.login.registration_token': {
      const token = auth.token;
      if (typeof token !== 'string') throw badJson('auth.token must be a string.');
      return (await isRegistrationTokenUsable(hs, token)) ? { ok: true, token } : { ok: false, error: 'Invalid registration token.' };
    }
    default:
      return { ok: false, error: `Unsupported authentication type ${stage}.` };
  }
}

/**
 * Passes when `auth` completes one of the flows in this session; otherwise throws the 401 with the session's
 * state. The caller ends the session with endUia once its operation has succeeded.
 */
export async function requireUia(hs: Hs, rawAuth: unknown, req: UiaRequest): Promise<UiaPassed> {
  const now = Date.now();
  const parsed = authSchema.safeParse(rawAuth ?? {});
  if (!parsed.success) throw badJson('auth must be an object.');
  const auth = parsed.data;

  let session: uiaDb.UiaSessionRow | undefined;
  if (auth.session !== undefined) {
    session = await uiaDb.selectUiaSession(hs.sql, auth.session, now - SESSION_LIFETIME_MS);
    if (!session) throw unknownError(400, 'Unknown or expired authentication session.');
    if (session.purpose !== req.purpose || session.userId !== (req.userId ?? null)) {
      throw forbidden('This authentication session was started for another request.');
    }
  } else {
    await uiaDb.deleteExpiredUiaSessions(hs.sql, now - SESSION_LIFETIME_MS);
    const sessionId = randomId(24, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
    await uiaDb.insertUiaSession(hs.sql, { sessionId, purpose: req.purpose, userId: req.userId ?? null });
    session = { sessionId, purpose: req.purpose, userId: req.userId ?? null, completed: [], registrationToken: null, createdTs: now };
  }

  const completed = [...session.completed];
  if (auth.type !== undefined) {
    const allowed = req.flows.some((flow) => flow.includes(auth.type as Stage));
    const result = allowed ? await checkStage(hs, req, auth.type, auth) : { ok: false, error: `${auth.type} is not a stage of this request's flows.` };
    if (!result.ok) {
      throw new UiaRequired(challengeBody(req, session.sessionId, completed), { errcode: Codes.FORBIDDEN, error: result.error! });
    }
    await uiaDb.updateUiaCompleted(hs.sql, session.sessionId, auth.type, result.token ?? null);
    if (!completed.includes(auth.type)) completed.push(auth.type);
    if (result.token) session.registrationToken = result.token;
  }
  if (!flowComplete(req, completed)) throw new UiaRequired(challengeBody(req, session.sessionId, completed));
  return { sessionId: session.sessionId, registrationToken: session.registrationToken };
}

export async function endUia(hs: Hs, passed: UiaPassed): Promise<void> {
  await uiaDb.deleteUiaSession(hs.sql, passed.sessionId);
}
