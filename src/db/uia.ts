/** User-interactive authentication sessions, kept in the database so that any server process can continue one. */
import type { Db } from './database.js';

export interface UiaSessionRow {
  sessionId: string;
  purpose: string;
  userId: string | null;
  completed: string[];
  registrationToken: string | null;
  createdTs: number;
}

export async function insertUiaSession(db: Db, s: { sessionId: string; purpose: string; userId: string | null }): Promise<void> {
  await db`INSERT INTO uia_sessions (session_id, purpose, user_id, created_ts) VALUES (${s.sessionId}, ${s.purpose}, ${s.userId}, ${Date.now()})`;
}

export async function selectUiaSession(db: Db, sessionId: string, notBefore: number): Promise<UiaSessionRow | undefined> {
  const [row] = await db<UiaSessionRow[]>`SELECT * FROM uia_sessions WHERE session_id = ${sessionId} AND created_ts >= ${notBefore}`;
  return row;
}

export async function updateUiaCompleted(db: Db, sessionId: string, stage: string, registrationToken: string | null): Promise<void> {
  await db`
    UPDATE uia_sessions
    SET completed = CASE WHEN ${stage} = ANY(completed) THEN completed ELSE array_append(completed, ${stage}) END,
        registration_token = COALESCE(${registrationToken}, registration_token)
    WHERE session_id = ${sessionId}`;
}

export async function deleteUiaSession(db: Db, sessionId: string): Promise<void> {
  await db`DELETE FROM uia_sessions WHERE session_id = ${sessionId}`;
}

export async function deleteExpiredUiaSessions(db: Db, before: number): Promise<void> {
  await db`DELETE FROM uia_sessions WHERE created_ts < ${before}`;
}
