/**
 * Profiles (spec: "Profiles", v1.16 fields): displayname, avatar_url, m.tz and namespaced custom keys; only the
 * owner writes; the whole profile stays under 64 KiB.
 */
import { badJson, forbidden, notFound, invalidParam, keyTooLarge, missingParam, profileTooLarge } from '../errors.js';
import type { Hs } from '../hs.js';
import * as users from '../db/users.js';
import { isUserId } from '../lib/identifiers.js';
import { refreshMemberEvents } from './rooms/member-profile.js';

/** Fields that member events carry: a change updates the user's rooms. */
const ROOM_FIELDS = new Set(['displayname', 'avatar_url']);

const KEY_NAME = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
const KEY_MAX_BYTES = 255;
const PROFILE_MAX_BYTES = 64 * 1024;
const DISPLAYNAME_MAX = 256;
const MXC = /^mxc:\/\/[A-Za-z0-9.:\-[\]]+\/[A-Za-z0-9_-]+$/;

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > KEY_MAX_BYTES) throw keyTooLarge(`Profile keys are at most ${KEY_MAX_BYTES} bytes.`);
  if (!KEY_NAME.test(key)) throw invalidParam('Invalid profile key: use displayname, avatar_url, m.tz or a namespaced key.');
}

function checkValue(key: string, value: unknown): void {
  if (key === 'displayname') {
    if (typeof value !== 'string') throw badJson('displayname must be a string.');
    if (value.length > DISPLAYNAME_MAX) throw badJson(`displayname must be at most ${DISPLAYNAME_MAX} characters.`);
  }
  if (key === 'avatar_url' && (typeof value !== 'string' || (value !== '' && !MXC.test(value)))) throw badJson('avatar_url must be an mxc:// URI.');
  if (key === 'm.tz' && typeof value !== 'string') throw badJson('m.tz must be a string.');
}

async function profileOf(hs: Hs, userId: string): Promise<Record<string, unknown>> {
  if (!isUserId(userId)) throw notFound('Profile not found.');
  const user = await users.selectUser(hs.sql, userId);
  if (!user || user.deactivated) throw notFound('Profile not found.');
  return user.profile;
}

export async function getProfile(hs: Hs, userId: string): Promise<Record<string, unknown>> {
  return profileOf(hs, userId);
}

export async function getProfileField(hs: Hs, userId: string, key: string): Promise<Record<string, unknown>> {
  checkKey(key);
  const profile = await profileOf(hs, userId);
  if (!(key in profile)) throw notFound(`The profile has no ${key}.`);
  return { [key]: profile[key] };
}

export async function setProfileField(hs: Hs, requesterId: string, userId: string, key: string, body: Record<string, unknown>): Promise<void> {
  if (requesterId !== userId) throw forbidden("You cannot change another user's profile.");
  checkKey(key);
  if (!(key in body)) throw missingParam(`The body must contain the field ${key}.`);
  const value = body[key];
  checkValue(key, value);
  // An empty avatar_url is how older clients remove their avatar; storing it would not be an MXC URI.
  if (key === 'avatar_url' && value === '') {
    await users.deleteProfileField(hs.sql, userId, key);
  } else if (!(await users.updateProfileField(hs.sql, userId, key, value, PROFILE_MAX_BYTES))) {
    throw profileTooLarge('The profile would be larger than 64 KiB.');
  }
  if (ROOM_FIELDS.has(key)) await refreshMemberEvents(hs, userId);
}

export async function deleteProfileField(hs: Hs, requesterId: string, userId: string, key: string): Promise<void> {
  if (requesterId !== userId) throw forbidden("You cannot change another user's profile.");
  checkKey(key);
  await users.deleteProfileField(hs.sql, userId, key);
  if (ROOM_FIELDS.has(key)) await refreshMemberEvents(hs, userId);
}
