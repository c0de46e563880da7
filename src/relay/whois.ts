/**
 * Whois (spec: "Server administration"): a user's devices and sessions, for server admins and for the user themself.
 * The server keeps no client addresses or user agents, so a connection says only when the device was last seen.
 */
import type { Hs, Requester } from '../hs.js';
import { forbidden, notFound } from '../errors.js';
import { selectDevices } from '../db/devices.js';
import { selectUser } from '../db/users.js';
import { isUserId } from '../lib/identifiers.js';

export interface WhoIs {
  user_id: string;
  devices: Record<string, { sessions: { connections: { last_seen: number }[] }[] }>;
}

export async function whoIs(hs: Hs, requester: Requester, userId: string): Promise<WhoIs> {
  // Authorisation before lookup: nobody learns from a 404 whether an account exists.
  if (userId !== requester.userId && !requester.isAdmin) throw forbidden('Only server admins may look up other users.');
  if (!isUserId(userId) || !(await selectUser(hs.sql, userId))) throw notFound('No such user on this server.');
  const devices = await selectDevices(hs.sql, userId);
  return {
    user_id: userId,
    devices: Object.fromEntries(devices.map((d) => [d.deviceId, { sessions: [{ connections: d.lastSeenTs === null ? [] : [{ last_seen: d.lastSeenTs }] }] }])),
  };
}
