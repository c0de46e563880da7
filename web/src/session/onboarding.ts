/**
 * The two ways in, from nothing to a running client in a room:
 * - start a room: a device-kept account (account.ts), the display name, a new room;
 * - join by link: a guest account if the room lets guests join, else a device-kept account; the display name; the join.
 * Registration, the profile and the join go through a bare client (no crypto, no sync); the real client
 * (client.ts) starts once the account exists and is saved.
 */
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { registerDeviceKept, registerGuest } from './account';
import { saveSession, type StoredSession } from './credentials';
import { startClient } from './client';
import { startRoom } from './rooms';

function bare(s: StoredSession): MatrixClient {
  return createClient({ baseUrl: s.baseUrl, userId: s.userId, deviceId: s.deviceId, accessToken: s.accessToken });
}

export function homeserver(): string {
  return window.location.origin;
}

export async function startRoomAs(displayName: string): Promise<{ client: MatrixClient; roomId: string }> {
  const session = await registerDeviceKept(homeserver());
  await bare(session).setDisplayName(displayName);
  saveSession(session);
  const client = await startClient(session);
  const roomId = await startRoom(client, `${displayName}'s room`);
  return { client, roomId };
}

function errcodeOf(err: unknown): string | undefined {
  return (err as { errcode?: string })?.errcode ?? (err as { data?: { errcode?: string } })?.data?.errcode;
}

export async function joinByLinkAs(displayName: string, roomId: string): Promise<{ client: MatrixClient; roomId: string }> {
  let session: StoredSession | undefined;
  try {
    const guest = await registerGuest(homeserver());
    const b = bare(guest);
    b.setGuest(true);
    await b.setDisplayName(displayName);
    await b.joinRoom(roomId);
    session = guest;
  } catch (err) {
    const code = errcodeOf(err);
    // The room (or the server) does not take guests: a quick account instead. Other errors are the room's.
    if (code !== 'M_GUEST_ACCESS_FORBIDDEN' && code !== 'M_FORBIDDEN' && code !== 'M_REGISTRATION_DISABLED') throw err;
  }
  if (!session) {
    session = await registerDeviceKept(homeserver());
    const b = bare(session);
    await b.setDisplayName(displayName);
    await b.joinRoom(roomId);
  }
  saveSession(session);
  const client = await startClient(session);
  return { client, roomId };
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
