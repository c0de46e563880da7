/**
 * Server administration of accounts: create (optionally with a bot's first session), list, read, deactivate,
 * reset passwords, devices. It reuses the account and device operations users run on themselves, and logs each change.
 */
import { randomBytes } from 'node:crypto';
import type { Hs } from '../../hs.js';
import { invalidParam, notFound } from '../../errors.js';
import { selectUsersPage } from '../../db/admin.js';
import { selectDevice, selectDevices, type DeviceRow } from '../../db/devices.js';
import { selectUser, updateAdmin, type UserRow } from '../../db/users.js';
import { changePassword, deactivateAccount, registerUser } from '../accounts.js';
import { removeDevices } from '../devices.js';
import { logAdminAction } from './audit.js';

export interface AdminUser {
  user_id: string;
  displayname?: string;
  avatar_url?: string;
  admin: boolean;
  guest: boolean;
  deactivated: boolean;
  creation_ts: number;
}

export interface AdminDevice {
  device_id: string;
  display_name?: string;
  last_seen_ts?: number;
  created_ts: number;
}

function adminUserJson(u: UserRow): AdminUser {
  const { displayname, avatar_url: avatarUrl } = u.profile;
  return {
    user_id: u.userId,
    ...(typeof displayname === 'string' ? { displayname } : {}),
    ...(typeof avatarUrl === 'string' ? { avatar_url: avatarUrl } : {}),
    admin: u.isAdmin,
    guest: u.isGuest,
    deactivated: u.deactivated,
    creation_ts: u.createdTs,
  };
}

function adminDeviceJson(d: DeviceRow): AdminDevice {
  return {
    device_id: d.deviceId,
    ...(d.displayName !== null ? { display_name: d.displayName } : {}),
    ...(d.lastSeenTs !== null ? { last_seen_ts: d.lastSeenTs } : {}),
    created_ts: d.createdTs,
  };
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** A new account's name: a localpart, or a full user id of this server. */
function localpartOf(name: string, serverName: string): string {
  if (!name.startsWith('@')) return name;
  const colon = name.indexOf(':');
  if (colon < 0 || name.slice(colon + 1) !== serverName) throw invalidParam(`${name} is not a user id of this server (${serverName}).`);
  return name.slice(1, colon);
}

/** The account a user id names; 404 M_NOT_FOUND when there is none on this server. */
async function requireUser(hs: Hs, userId: string): Promise<UserRow> {
  const user = await selectUser(hs.sql, userId);
  if (!user) throw notFound(`No such user ${userId}.`);
  return user;
}

export interface CreateUserRequest {
  username: string;
  /** Absent: a random one is generated and returned (once). */
  password?: string;
  admin?: boolean;
  /** A bot gets its first device and an access token right away. */
  bot?: boolean;
  deviceDisplayName?: string;
}

export interface CreatedUser {
  user_id: string;
  admin: boolean;
  /** Only when it was generated. */
  password?: string;
  device_id?: string;
  access_token?: string;
}

export async function createUser(hs: Hs, admin: string, req: CreateUserRequest): Promise<CreatedUser> {
  if (req.deviceDisplayName !== undefined && !req.bot) throw invalidParam('device_display_name is only for bots (bot: true), which get a device.');
  const username = localpartOf(req.username, hs.config.serverName);
  const password = req.password ?? generatePassword();
  const session = await registerUser(
    hs,
    { username, password, isAdmin: req.admin === true },
    req.bot ? { initialDeviceDisplayName: req.deviceDisplayName } : { inhibitLogin: true },
  );
  logAdminAction(hs, admin, 'create_user', { user_id: session.user_id, is_admin: req.admin === true, bot: req.bot === true, ...(session.device_id ? { device_id: session.device_id } : {}) });
  return {
    user_id: session.user_id,
    admin: req.admin === true,
    ...(req.password === undefined ? { password } : {}),
    ...(session.device_id !== undefined ? { device_id: session.device_id, access_token: session.access_token } : {}),
  };
}

export async function listUsers(hs: Hs, p: { from?: string; search?: string; limit: number }): Promise<{ users: AdminUser[]; next_from?: string }> {
  const rows = await selectUsersPage(hs.sql, { after: p.from, search: p.search, limit: p.limit + 1 });
  const page = rows.slice(0, p.limit);
  return { users: page.map(adminUserJson), ...(rows.length > p.limit ? { next_from: page[page.length - 1].userId } : {}) };
}

export async function getUser(hs: Hs, userId: string): Promise<AdminUser> {
  return adminUserJson(await requireUser(hs, userId));
}

/** The same as the user deactivating their own account: no more logins, devices and tokens gone, every room left. */
export async function deactivateUser(hs: Hs, admin: string, userId: string, erase: boolean): Promise<void> {
  await requireUser(hs, userId);
  await deactivateAccount(hs, userId, erase);
  logAdminAction(hs, admin, 'deactivate_user', { user_id: userId, erase });
}

/** Sets a new password; with logoutDevices every device of the user is deleted (with its tokens). */
export async function resetPassword(hs: Hs, admin: string, userId: string, newPassword: string, logoutDevices: boolean): Promise<void> {
  const user = await requireUser(hs, userId);
  if (user.deactivated) throw invalidParam(`${userId} is deactivated; its password cannot be set.`);
  if (user.isGuest) throw invalidParam(`${userId} is a guest account; guests have no password.`);
  // No device is kept: device ids are never empty.
  await changePassword(hs, userId, '', newPassword, logoutDevices);
  logAdminAction(hs, admin, 'reset_password', { user_id: userId, logout_devices: logoutDevices });
}

export async function setAdmin(hs: Hs, admin: string, userId: string, isAdmin: boolean): Promise<void> {
  await requireUser(hs, userId);
  await updateAdmin(hs.sql, userId, isAdmin);
  logAdminAction(hs, admin, 'set_admin', { user_id: userId, is_admin: isAdmin });
}

export async function listUserDevices(hs: Hs, userId: string): Promise<AdminDevice[]> {
  await requireUser(hs, userId);
  return (await selectDevices(hs.sql, userId)).map(adminDeviceJson);
}

/** Deletes one device of a user with its tokens and keys, as a logout of that device would. */
export async function deleteUserDevice(hs: Hs, admin: string, userId: string, deviceId: string): Promise<void> {
  await requireUser(hs, userId);
  if (!(await selectDevice(hs.sql, userId, deviceId))) throw notFound(`${userId} has no device ${deviceId}.`);
  await removeDevices(hs, userId, [deviceId]);
  logAdminAction(hs, admin, 'delete_device', { user_id: userId, device_id: deviceId });
}
