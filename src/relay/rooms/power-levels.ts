/**
 * Power levels: what a user has and what an action needs (with the spec's defaults), and the rules for changing them.
 * Nobody can give or take what they do not have: no level is raised above, or changed from above, the sender's own.
 */
import { forbidden } from '../../errors.js';
import { isUserId } from '../../lib/identifiers.js';
import { roomCreators, type AuthEvent, type RoomState, rulesOfState } from './room-state.js';
import type { RoomVersion } from './room-versions.js';

/** The power level of the room creator(s) when a v10/v11 room has no m.room.power_levels event. */
const CREATOR_LEVEL_WITHOUT_POWER_LEVELS = 100;

export type PowerAction = 'invite' | 'kick' | 'ban' | 'redact';

/** Defaults from the m.room.power_levels schema, used when the key or the whole event is absent. */
const ACTION_DEFAULTS: Record<PowerAction, number> = { invite: 0, kick: 50, ban: 50, redact: 50 };
const LEVEL_KEYS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const;

type Json = Record<string, unknown>;

/** Integer in the canonical-JSON range [-(2**53)+1, (2**53)-1], as room versions 10+ require (RoomVersion.integerPowerLevels). */
export const isPowerLevel = (v: unknown): v is number => Number.isSafeInteger(v);
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A "stringy" power level (versions 1-9, spec: "m.room.power_levels events accept values as strings"): base 10
 * digits, leading zeroes allowed, an optional sign, whitespace around.
 */
const STRINGY_LEVEL = /^\s*[+-]?[0-9]+\s*$/;

/**
 * The level a power-levels value stands for under the room's rules: an integer, or in versions before 10 also a
 * string holding one; undefined for anything else. (Versions 1-5 would also truncate floats received over
 * federation; this server never stores one: see checkPowerLevelsShape.)
 */
export function levelValue(rules: RoomVersion | undefined, v: unknown): number | undefined {
  if (isPowerLevel(v)) return v;
  if (typeof v !== 'string' || rules?.integerPowerLevels !== false || !STRINGY_LEVEL.test(v)) return undefined;
  const n = Number.parseInt(v.trim(), 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Power levels content with every level as the integer it stands for under `rules` (stringy levels of versions
 * before 10 converted; unreadable ones left out): what a room of any version accepts, e.g. when an upgrade carries
 * the levels of a v9 room into a v10+ one. Other keys are kept as they are.
 */
export function integerLevels(rules: RoomVersion, content: Json): Json {
  const out: Json = { ...content };
  for (const key of LEVEL_KEYS) {
    if (!Object.hasOwn(out, key)) continue;
    const level = levelValue(rules, out[key]);
    if (level === undefined) delete out[key];
    else out[key] = level;
  }
  for (const key of ['events', 'notifications', 'users'] as const) {
    const map = out[key];
    if (!isObject(map)) continue;
    out[key] = Object.fromEntries(Object.entries(map).flatMap(([k, v]) => {
      const level = levelValue(rules, v);
      return level === undefined ? [] : [[k, level]];
    }));
  }
  return out;
}

const levelIn = (rules: RoomVersion | undefined, map: unknown, key: string): number | undefined =>
  isObject(map) && Object.hasOwn(map, key) ? levelValue(rules, map[key]) : undefined;

/** A level for messages: room creators in v12 have an infinite one. */
export const formatLevel = (level: number): string => (Number.isFinite(level) ? String(level) : 'infinite (room creator)');

const powerLevelsContent = (state: RoomState): Json | undefined => state.get('m.room.power_levels', '')?.content;

/**
 * The user's power level: v12 creators are infinite; otherwise `users[userId]`, else `users_default` (0). Without
 * an m.room.power_levels event the creator has 100 (v10/v11) and everyone else 0.
 */
export function userPowerLevel(state: RoomState, userId: string): number {
  const creators = roomCreators(state);
  if (rulesOfState(state)?.infiniteCreators && creators.includes(userId)) return Infinity;
  const content = powerLevelsContent(state);
  if (!content) return creators.includes(userId) ? CREATOR_LEVEL_WITHOUT_POWER_LEVELS : 0;
  const rules = rulesOfState(state);
  return levelIn(rules, content.users, userId) ?? levelIn(rules, content, 'users_default') ?? 0;
}

/** The level needed to send an event type: `events[type]`, else `state_default` (50) or `events_default` (0). */
export function requiredPowerLevel(state: RoomState, eventType: string, isState: boolean): number {
  const content = powerLevelsContent(state);
  const rules = rulesOfState(state);
  const specific = levelIn(rules, content?.events, eventType);
  if (specific !== undefined) return specific;
  return isState ? (levelIn(rules, content, 'state_default') ?? 50) : (levelIn(rules, content, 'events_default') ?? 0);
}

/** The level needed to invite (default 0), kick, ban or redact other users' events (default 50). */
export function actionPowerLevel(state: RoomState, action: PowerAction): number {
  return levelIn(rulesOfState(state), powerLevelsContent(state), action) ?? ACTION_DEFAULTS[action];
}

/** The level needed to trigger a notification key, e.g. `room` for @room (default 50). */
export function notificationPowerLevel(state: RoomState, key = 'room'): number {
  return levelIn(rulesOfState(state), powerLevelsContent(state)?.notifications, key) ?? 50;
}

/**
 * Rule 9.1-9.3 (v12: 10.1-10.4; v1-9: 10.1): the shape of new m.room.power_levels content. Versions 1-9 only
 * require `users` to map user ids to levels, integers or strings holding one; from v10 every level must be an
 * integer. The spec asks servers to keep their own users from sending the "malformed" forms older versions tolerate
 * ("Deprecated event content schemas"), so every version here also checks the other levels' shape: an integer, or
 * before v10 a stringy integer (the auth rules of those versions allow them, and clients still send them); never a
 * float, which only versions 1-5 would take and only for want of canonical JSON.
 */
function checkPowerLevelsShape(rules: RoomVersion, content: Json, state: RoomState): void {
  const what = rules.integerPowerLevels ? 'an integer' : 'an integer (or a string holding one)';
  const valid = (v: unknown) => levelValue(rules, v) !== undefined;
  for (const key of LEVEL_KEYS) {
    if (Object.hasOwn(content, key) && !valid(content[key])) {
      throw forbidden(`m.room.power_levels: ${key} must be ${what} (got ${JSON.stringify(content[key])}).`);
    }
  }
  for (const key of ['events', 'notifications', 'users'] as const) {
    if (!Object.hasOwn(content, key)) continue;
    const map = content[key];
    if (!isObject(map)) throw forbidden(`m.room.power_levels: ${key} must be an object.`);
    for (const [name, level] of Object.entries(map)) {
      if (key === 'users' && !isUserId(name)) throw forbidden(`m.room.power_levels: users has a key that is not a user id: ${JSON.stringify(name)}.`);
      if (!valid(level)) throw forbidden(`m.room.power_levels: ${key}[${JSON.stringify(name)}] must be ${what} (got ${JSON.stringify(level)}).`);
    }
  }
  if (rules.infiniteCreators && isObject(content.users)) {
    const listed = roomCreators(state).find((creator) => Object.hasOwn(content.users as Json, creator));
    if (listed) throw forbidden(`m.room.power_levels: room creators cannot be listed in users (${listed} is a creator of this room).`);
  }
}

const keysOf = (...maps: unknown[]): string[] => [...new Set(maps.flatMap((m) => (isObject(m) ? Object.keys(m) : [])))];

/**
 * Rule 9 (v12: rule 10; v1-9: rule 10): a new m.room.power_levels event, given the sender's current level. The
 * sender may not alter any level that is above their own, nor set one above their own, nor change another user at or
 * above their own level (lowering oneself is allowed). Levels are compared as the numbers they stand for, so "50"
 * replacing 50 in a v9 room is no change. Changes to `notifications` are checked from v6 on.
 */
export function checkPowerLevelsEvent(rules: RoomVersion, event: AuthEvent, state: RoomState, senderLevel: number): void {
  const next = event.content;
  checkPowerLevelsShape(rules, next, state);
  const prev = powerLevelsContent(state);
  if (!prev) return; // 9.4: the first m.room.power_levels event
  const mine = formatLevel(senderLevel);
  // The previous event was accepted under the same rules; a value these rules cannot read counts as absent.
  const level = (map: unknown, key: string) => levelIn(rules, map, key);
  for (const key of LEVEL_KEYS) {
    // 9.5: added, changed or removed
    const [old, now] = [level(prev, key), level(next, key)];
    if (old === now) continue;
    if (old !== undefined && old > senderLevel) throw forbidden(`You cannot change ${key} from ${old}: it is above your power level (${mine}).`);
    if (now !== undefined && now > senderLevel) throw forbidden(`You cannot set ${key} to ${now}: it is above your power level (${mine}).`);
  }
  const maps = rules.notificationsInPowerRules ? (['events', 'notifications'] as const) : (['events'] as const);
  for (const key of maps) {
    const what = key === 'events' ? 'event type' : 'notification';
    for (const name of keysOf(prev[key], next[key])) {
      const [old, now] = [level(prev[key], name), level(next[key], name)];
      if (old === now) continue;
      // 9.6: changed or removed; 9.7: added or changed
      if (old !== undefined && old > senderLevel) {
        throw forbidden(`You cannot change the level of ${what} ${name} from ${old}: it is above your power level (${mine}).`);
      }
      if (now !== undefined && now > senderLevel) {
        throw forbidden(`You cannot set the level of ${what} ${name} to ${now}: it is above your power level (${mine}).`);
      }
    }
  }
  for (const userId of keysOf(prev.users, next.users)) {
    const [old, now] = [level(prev.users, userId), level(next.users, userId)];
    if (old === now) continue;
    // 9.8: changed or removed, other than the sender's own entry
    if (userId !== event.sender && old !== undefined && old >= senderLevel) {
      throw forbidden(`You cannot change the power level of ${userId}: theirs (${old}) is not below yours (${mine}).`);
    }
    // 9.9: added or changed
    if (now !== undefined && now > senderLevel) {
      const change = userId === event.sender ? `raise your own power level to ${now}` : `give ${userId} power level ${now}`;
      throw forbidden(`You cannot ${change}: it is above your power level (${mine}).`);
    }
  }
}
