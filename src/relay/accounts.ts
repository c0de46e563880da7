/**
 * Accounts: registration (full and guest, and a guest's upgrade), password login, password change and
 * deactivation. Each operation is one transaction; tokens are issued only once the account is committed.
 */
import type { Hs, TxHs } from '../hs.js';
import { forbidden, userDeactivated, userInUse, invalidParam, weakPassword } from '../errors.js';
import * as users from '../db/users.js';
import { selectDevices } from '../db/devices.js';
import { selectRoomsWithMembership } from '../db/rooms.js';
import { leaveRoom } from './rooms/membership.js';
import { deleteAllAccountData } from '../db/account-data.js';
import { consumeRegistrationToken } from '../db/registration-tokens.js';
import { deleteDevices, openDevice, removeDevices } from './devices.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './keys/device-lists.js';
import { hashPassword, verifyPassword } from '../lib/passwords.js';
import { issueTokens, type IssuedTokens } from './sessions.js';
import { randomId } from '../lib/tokens.js';
import { userIdOf, validateNewLocalpart } from './user-ids.js';
import { transaction, type Tx } from '../db/database.js';
import { eraseKeyBackups } from '../db/erasure.js';
import { eraseEventsOf, redactEventsOf } from './rooms/redaction.js';
import { deleteMediaOfUser } from './media/deletion.js';

export interface SessionRequest {
  deviceId?: string;
  initialDeviceDisplayName?: string;
  refreshToken?: boolean;
  /** Register without logging in (no device, no tokens). */
  inhibitLogin?: boolean;
}

export interface SessionResult extends Partial<IssuedTokens> {
  user_id: string;
  device_id?: string;
}

const PASSWORD_MAX = 512;

function checkPassword(password: string): void {
  if (password.length === 0) throw weakPassword('The password must not be empty.');
  if (password.length > PASSWORD_MAX) throw invalidParam(`The password must be at most ${PASSWORD_MAX} characters.`);
}

function generatedLocalpart(): string {
  return `u${randomId(12, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
}

/** A session on a device; a new device is recorded as a device-list change (the caller wakes the watchers after commit). */
async function startSession(hs: TxHs, tx: Tx, userId: string, s: SessionRequest): Promise<SessionResult> {
  if (s.inhibitLogin) return { user_id: userId };
  const { deviceId, created } = await openDevice(tx, userId, s.deviceId, s.initialDeviceDisplayName);
  const issued = await issueTokens(hs, tx, userId, deviceId, s.refreshToken === true);
  if (created) await recordDeviceListChange(tx, userId);
  return { user_id: userId, device_id: deviceId, ...issued };
}

/** After a session's commit: the user's other devices (and room sharers) hear of a new device. */
async function wakeForSession(hs: Hs, r: SessionResult): Promise<SessionResult> {
  if (r.device_id !== undefined) await wakeDeviceListWatchers(hs, r.user_id);
  return r;
}

export async function isUsernameAvailable(hs: Hs, localpart: string): Promise<boolean> {
  validateNewLocalpart(localpart, hs.config.serverName);
  return (await users.selectUser(hs.sql, userIdOf(localpart, hs.config.serverName))) === undefined;
}

/** Creates a full account; consumes one use of the registration token when one was needed. */
export async function registerUser(
  hs: Hs,
  a: { username?: string; password?: string; isAdmin?: boolean; registrationToken?: string | null },
  s: SessionRequest,
): Promise<SessionResult> {
  const localpart = a.username?.toLowerCase() ?? generatedLocalpart();
  validateNewLocalpart(localpart, hs.config.serverName);
  if (a.password !== undefined) checkPassword(a.password);
  const userId = userIdOf(localpart, hs.config.serverName);
  const passwordHash = a.password !== undefined ? await hashPassword(a.password) : null;
  return transaction(hs.sql, async (tx) => {
    if (a.registrationToken && !(await consumeRegistrationToken(tx, a.registrationToken, Date.now()))) {
      throw forbidden('The registration token is no longer valid.');
    }
    const inserted = await users.insertUser(tx, { userId, passwordHash, isAdmin: a.isAdmin ?? false, isGuest: false, profile: { displayname: localpart } });
    if (!inserted) throw userInUse('That user id is already taken.');
    return startSession(hs, tx, userId, s);
  });
}

/** Guest accounts have numeric localparts (reserved for them) and no password. */
export async function registerGuest(hs: Hs, s: SessionRequest): Promise<SessionResult> {
  return transaction(hs.sql, async (tx) => {
    for (;;) {
      const localpart = String(100000 + Math.floor(Math.random() * 9_899_999_999));
      const userId = userIdOf(localpart, hs.config.serverName);
      if (await users.insertUser(tx, { userId, passwordHash: null, isAdmin: false, isGuest: true, profile: {} })) {
        return startSession(hs, tx, userId, { ...s, inhibitLogin: false });
      }
    }
  });
}

/**
 * A guest becomes a full account by registering with its guest access token: it keeps its user id, rooms and
 * devices and gets a password. (A username, if given, must be the guest's own localpart.)
 */
export async function upgradeGuest(
  hs: Hs,
  guestUserId: string,
  a: { username?: string; password: string; registrationToken?: string | null },
  s: SessionRequest,
): Promise<SessionResult> {
  checkPassword(a.password);
  const localpart = guestUserId.slice(1, guestUserId.indexOf(':'));
  if (a.username !== undefined && a.username.toLowerCase() !== localpart) {
    throw forbidden(`A guest account keeps its user id (${guestUserId}) when it registers; omit username or send "${localpart}".`);
  }
  const passwordHash = await hashPassword(a.password);
  return transaction(hs.sql, async (tx) => {
    // An upgrade is a registration: on a token-gated server it uses up one use of the token too.
    if (a.registrationToken && !(await consumeRegistrationToken(tx, a.registrationToken, Date.now()))) {
      throw forbidden('The registration token is no longer valid.');
    }
    await users.updateUpgradedGuest(tx, guestUserId, passwordHash);
    return startSession(hs, tx, guestUserId, s);
  }).then((r) => wakeForSession(hs, r));
}

/** Password login. Unknown user and wrong password give the same error after the same work. */
export async function loginWithPassword(hs: Hs, userId: string, password: string, s: SessionRequest): Promise<SessionResult> {
  const user = await users.selectUser(hs.sql, userId);
  const ok = await verifyPassword(user?.passwordHash, password);
  if (!user || !ok) {
    if (user?.deactivated) throw userDeactivated();
    throw forbidden('Invalid username or password.');
  }
  if (user.deactivated) throw userDeactivated();
  return wakeForSession(hs, await transaction(hs.sql, (tx) => startSession(hs, tx, userId, s)));
}

/** Sets a new password; with logoutDevices, every other device of the user is deleted. */
export async function changePassword(hs: Hs, userId: string, keepDeviceId: string, newPassword: string, logoutDevices: boolean): Promise<void> {
  checkPassword(newPassword);
  const passwordHash = await hashPassword(newPassword);
  const gone = await transaction(hs.sql, async (tx) => {
    await users.updatePasswordHash(tx, userId, passwordHash);
    if (!logoutDevices) return [];
    const others = (await selectDevices(tx, userId)).map((d) => d.deviceId).filter((id) => id !== keepDeviceId);
    return deleteDevices(tx, userId, others);
  });
  if (gone.length > 0) await wakeDeviceListWatchers(hs, userId);
}

/**
 * Deactivation: the account can no longer log in; its devices, tokens and password are gone; it leaves every room.
 * With `erase`, its profile, account data and key backup go too; in the rooms it is still in, its events are redacted
 * by redaction events (so clients drop their copies), and then every message and membership profile copy left in any
 * room loses its content in place (rooms/redaction.ts), and every media item it uploaded is deleted.
 */
export async function deactivateAccount(hs: Hs, userId: string, erase: boolean): Promise<void> {
  await transaction(hs.sql, async (tx) => {
    await users.updateDeactivated(tx, userId);
    if (erase) {
      await users.clearProfile(tx, userId);
      await deleteAllAccountData(tx, userId);
      await eraseKeyBackups(tx, userId);
    }
    const all = (await selectDevices(tx, userId)).map((d) => d.deviceId);
    await deleteDevices(tx, userId, all);
  });
  await wakeDeviceListWatchers(hs, userId);
  // While still joined, the user's events are redacted by redaction events, which reach every client that synced them.
  if (erase) for (const roomId of await selectRoomsWithMembership(hs.sql, userId, 'join')) await redactEventsOf(hs, userId, roomId);
  // Leaving is a room event each (one transaction per room); invites are rejected the same way.
  for (const membership of ['join', 'invite', 'knock']) {
    for (const roomId of await selectRoomsWithMembership(hs.sql, userId, membership)) await leaveRoom(hs, userId, roomId);
  }
  // After the leaves: their membership events (and what they replaced) are erased too, and their media.
  if (erase) {
    await eraseEventsOf(hs, userId);
    await deleteMediaOfUser(hs, userId);
  }
}

/** Logout: ends the session and deletes its device (spec: the device and its keys go with the token). */
export async function logout(hs: Hs, userId: string, deviceId: string): Promise<void> {
  await removeDevices(hs, userId, [deviceId]);
}

export async function logoutAll(hs: Hs, userId: string): Promise<void> {
  await removeDevices(hs, userId, (await selectDevices(hs.sql, userId)).map((d) => d.deviceId));
}
