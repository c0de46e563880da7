/**
 * The two ways in, from nothing to a running client in a room:
 * - start a room: a device-kept account (account.ts), the display name, a new room;
 * - join by link: a guest account if the room lets guests join, else a device-kept account; the display name; the
 *   client started and its device keys uploaded; then the join.
 * A device-kept account takes the invite code (registration token) where the server asks for one (account.ts); a
 * joiner who gives one skips the guest attempt (it was refused before: that is why the page asked for the code).
 * Registration and the profile go through a bare client (no crypto, no sync); the real client (client.ts) starts once
 * the account exists and is saved.
 */
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { AccountError, GUESTS_OFF, NEEDS_INVITE_CODE, REGISTRATION_CLOSED, registerDeviceKept, registerGuest } from './account';
import { saveSession, type StoredSession } from './credentials';
import { deviceKeysUploaded, signOut, startClient } from './client';
import { joinRoom, startRoom } from './rooms';

function bare(s: StoredSession): MatrixClient {
  return createClient({ baseUrl: s.baseUrl, userId: s.userId, deviceId: s.deviceId, accessToken: s.accessToken });
}

export function homeserver(): string {
  return window.location.origin;
}

export async function startRoomAs(displayName: string, inviteCode?: string): Promise<{ client: MatrixClient; roomId: string }> {
  const session = await registerDeviceKept(homeserver(), inviteCode);
  await bare(session).setDisplayName(displayName);
  saveSession(session);
  const client = await startClient(session);
  const roomId = await startRoom(client, `${displayName}'s room`);
  return { client, roomId };
}

function errcodeOf(err: unknown): string | undefined {
  return (err as { errcode?: string })?.errcode ?? (err as { data?: { errcode?: string } })?.data?.errcode;
}

/**
 * Joins with a running client whose device keys are already on the server: whoever sends next in the room then
 * shares the room key with this device too (a join before the keys were uploaded would miss those messages).
 */
async function joinAs(session: StoredSession, displayName: string, roomId: string): Promise<MatrixClient> {
  await bare(session).setDisplayName(displayName);
  saveSession(session);
  const client = await startClient(session);
  await deviceKeysUploaded(client);
  await joinRoom(client, roomId);
  return client;
}

const GUESTS_REFUSED_BY_SERVER = 'This server does not let guests in';

export async function joinByLinkAs(displayName: string, roomId: string, inviteCode?: string): Promise<{ client: MatrixClient; roomId: string }> {
  // Why an account is needed at all: the server or the room refused the guest way in.
  let refused = 'Guests cannot join this room';
  if (inviteCode === undefined) {
    try {
      const guest = await registerGuest(homeserver());
      return { client: await joinAs(guest, displayName, roomId), roomId };
    } catch (err) {
      const code = errcodeOf(err);
      // The room (or the server) does not take guests: a quick account instead. Other errors are the room's.
      if (code === GUESTS_OFF) refused = GUESTS_REFUSED_BY_SERVER;
      else if (code !== 'M_GUEST_ACCESS_FORBIDDEN' && code !== 'M_FORBIDDEN' && code !== 'M_REGISTRATION_DISABLED') throw err;
      else await signOut();
    }
  }
  let session: StoredSession;
  try {
    session = await registerDeviceKept(homeserver(), inviteCode);
  } catch (err) {
    const code = errcodeOf(err);
    if (code === NEEDS_INVITE_CODE) {
      throw new AccountError(`${refused}, so you need an account on this server, and it asks new people for an invite code.`, code);
    }
    if (code === REGISTRATION_CLOSED) {
      throw new AccountError(
        `${refused === GUESTS_REFUSED_BY_SERVER ? `${refused} and makes` : `${refused}, and this server makes`} no new accounts from this page. Sign in with your account, or ask the person who sent the link.`,
        code,
      );
    }
    throw err;
  }
  return { client: await joinAs(session, displayName, roomId), roomId };
}

/** Plain words for what went wrong joining or starting. */
export function explainError(err: unknown): string {
  const code = errcodeOf(err);
  const message = (err as Error)?.message ?? String(err);
  if (code === 'M_NOT_FOUND') return 'This room does not exist on this server (check the link).';
  if (code === 'M_FORBIDDEN') return `You cannot join this room: ${message}`;
  if (code === 'M_LIMIT_EXCEEDED') return 'Too many attempts just now: wait a minute and try again.';
  if (err instanceof TypeError) return 'The server cannot be reached. Check your connection and try again.';
  return message;
}
