/**
 * Room creation (spec: POST /createRoom): the create event, the creator's join, power levels, preset state,
 * initial_state, name and topic, and invites, in one transaction. Every room is encrypted with Megolm, whether or
 * not the client asked. Rooms of every version this server has rules for can be created (room-versions.ts); what
 * differs is read from the version's row: who the create event names as creator, how the room id is made (v12: the
 * create event's hash), whether creators are listed in the power levels (not from v12, where they are infinite).
 * `createRoomInTransaction` is the internal API other relay code builds on (room upgrades): it creates a room of any
 * version inside the caller's transaction.
 */
import type { Hs, TxHs } from '../../hs.js';
import { badJson, notFound, roomInUse, unsupportedRoomVersion } from '../../errors.js';
import * as roomsDb from '../../db/rooms.js';
import { selectUser } from '../../db/users.js';
import { MEGOLM, checkCreationContent, checkStateEvent } from '../policy.js';
import { DEFAULT_ROOM_VERSION, SERVED_ROOM_VERSIONS, servedRoomVersion, type RoomVersion } from './room-versions.js';
import { appendEvent, newOpenRoom, type EventDraft, type OpenRoom } from './append.js';
import { newRoomId } from './events.js';
import { createEventReferenceHash } from './create-event-hash.js';
import { validateAliasLocalpart } from './aliases.js';
import { transaction, type Db, type Tx } from '../../db/database.js';
import { insertPublishedRoom } from '../../db/directory.js';

export type Preset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

export interface CreateRoomRequest {
  preset?: Preset;
  visibility?: 'public' | 'private';
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  is_direct?: boolean;
  initial_state?: { type: string; state_key?: string; content: Record<string, unknown> }[];
  power_level_content_override?: Record<string, unknown>;
  creation_content?: Record<string, unknown>;
  room_version?: string;
}

/** What only server code may ask of a new room, beyond a client's request. */
export interface CreateRoomOptions {
  /**
   * The m.room.power_levels content to send as is, instead of the defaults merged with power_level_content_override
   * (an upgrade copies the old room's). In v12+ rooms the creators are taken out of its `users`, as from any.
   */
  powerLevels?: Record<string, unknown>;
  /**
   * State events the server composes (an upgrade's carried-over state), sent right after initial_state: they skip
   * the blindness policy, never the authorization rules.
   */
  serverState?: EventDraft[];
}

export interface CreatedRoom {
  room_id: string;
  room_alias?: string;
  /** The new room's version row. */
  version: RoomVersion;
  /** The id of its m.room.create event (in v12+ rooms the room id with `$` for `!`). */
  createEventId: string;
  /** The room as written in the transaction: its wakes are for the caller to send once committed. */
  room: OpenRoom;
}

/** The member event content for a user: membership plus their profile's display name and avatar (read from `db`). */
export async function memberContent(db: Db, userId: string, membership: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return memberContentOf((await selectUser(db, userId))?.profile, membership, extra);
}

/** The member event content from a profile already read. */
export function memberContentOf(profile: Record<string, unknown> = {}, membership: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const content: Record<string, unknown> = { membership, ...extra };
  if (membership === 'join' || membership === 'invite' || membership === 'knock') {
    if (typeof profile.displayname === 'string') content.displayname = profile.displayname;
    if (typeof profile.avatar_url === 'string') content.avatar_url = profile.avatar_url;
  }
  return content;
}

/**
 * The default power levels. Versions 1-11: the creator (and, for trusted_private_chat, every invitee) has 100.
 * v12+: creators are infinite and cannot be listed (trusted_private_chat invitees become additional creators
 * instead), and m.room.tombstone needs more than state_default and more than the 100 of any admin (spec createRoom:
 * "MUST explicitly be higher than state_default. For example, set to 150").
 */
function defaultPowerLevels(version: RoomVersion, creator: string, preset: Preset, invitees: string[]): Record<string, unknown> {
  const users: Record<string, number> = {};
  if (!version.infiniteCreators) {
    users[creator] = 100;
    // trusted_private_chat: "all invitees are given the same power level as the room creator".
    if (preset === 'trusted_private_chat') for (const u of invitees) users[u] = 100;
  }
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': version.infiniteCreators ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    historical: 100,
  };
}

/**
 * v12+: creators cannot be listed in `users` (the auth rules refuse it). A client (or a copied room) that lists one
 * means them to be powerful, which they are without limit: the entry is dropped rather than the room refused.
 */
function withoutCreators(content: Record<string, unknown>, creators: readonly string[]): Record<string, unknown> {
  const users = content.users;
  if (typeof users !== 'object' || users === null || Array.isArray(users)) return content;
  const kept = Object.fromEntries(Object.entries(users).filter(([u]) => !creators.includes(u)));
  return { ...content, users: kept };
}

function presetState(preset: Preset): EventDraft[] {
  const joinRule = preset === 'public_chat' ? 'public' : 'invite';
  return [
    { type: 'm.room.join_rules', state_key: '', content: { join_rule: joinRule } },
    { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
    { type: 'm.room.guest_access', state_key: '', content: { guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join' } },
  ];
}

/**
 * The m.room.create content: creation_content, then what the server sets (room_version; creator before v11). In
 * v12+ trusted_private_chat invitees join `additional_creators` (spec createRoom: the server SHOULD combine them,
 * without duplicates).
 */
function createContentOf(version: RoomVersion, creator: string, req: CreateRoomRequest, preset: Preset, invitees: string[]): Record<string, unknown> {
  const content: Record<string, unknown> = { ...(req.creation_content ?? {}), room_version: version.id };
  if (version.creatorInContent) content.creator = creator;
  else delete content.creator;
  if (version.infiniteCreators && preset === 'trusted_private_chat' && invitees.length > 0) {
    const given = Array.isArray(content.additional_creators) ? content.additional_creators : [];
    content.additional_creators = [...new Set([...given, ...invitees])].filter((u) => u !== creator);
  }
  return content;
}

/** The creators a create event names: its sender, plus additional_creators where the version has them. */
function creatorsOf(version: RoomVersion, creator: string, createContent: Record<string, unknown>): string[] {
  const extra = version.infiniteCreators && Array.isArray(createContent.additional_creators) ? createContent.additional_creators : [];
  return [creator, ...extra.filter((u): u is string => typeof u === 'string')];
}

/**
 * The id of a new room, and the id and timestamp its m.room.create event must then have: in v12+ both ids are the
 * reference hash of that event (create-event-hash.ts); before, the room id is random (`!opaque:server`) and the
 * create event gets an id like any other (`derived` undefined). Room upgrades use it too.
 */
export function newRoomIdentity(
  serverName: string,
  version: RoomVersion,
  creator: string,
  createContent: Record<string, unknown>,
  originServerTs = Date.now(),
): { roomId: string; derived?: { eventId: string; originServerTs: number } } {
  if (!version.roomIdIsCreateHash) return { roomId: newRoomId(serverName) };
  const hash = createEventReferenceHash(version, { sender: creator, content: createContent, originServerTs });
  return { roomId: `!${hash}`, derived: { eventId: `$${hash}`, originServerTs } };
}

/** A client's request; the room is written in one transaction and its wakes sent once committed. */
export async function createRoom(hs: Hs, creator: string, req: CreateRoomRequest, opts: CreateRoomOptions = {}): Promise<{ room_id: string; room_alias?: string }> {
  const created = await transaction(hs.sql, (tx) => createRoomInTransaction(hs, tx, creator, req, opts));
  created.room.wakes.send(hs.notifier);
  return created.room_alias ? { room_id: created.room_id, room_alias: created.room_alias } : { room_id: created.room_id };
}

/**
 * Creates a room of `req.room_version` (default: DEFAULT_ROOM_VERSION; 400 M_UNSUPPORTED_ROOM_VERSION for one this
 * server does not serve) in the caller's transaction, with every check a client's createRoom gets. The caller sends
 * `room.wakes` after COMMIT.
 */
export async function createRoomInTransaction(hs: TxHs, tx: Tx, creator: string, req: CreateRoomRequest, opts: CreateRoomOptions = {}): Promise<CreatedRoom> {
  const versionId = req.room_version ?? DEFAULT_ROOM_VERSION;
  const version = servedRoomVersion(versionId);
  if (!version) {
    throw unsupportedRoomVersion(`Room version ${versionId} is not supported; use one of ${Object.keys(SERVED_ROOM_VERSIONS).join(', ')}.`);
  }
  const preset: Preset = req.preset ?? (req.visibility === 'public' ? 'public_chat' : 'private_chat');
  const invitees = [...new Set(req.invite ?? [])];
  for (const u of invitees) {
    if (!(await selectUser(tx, u))) throw notFound(`Cannot invite ${u}: no such user.`);
  }
  const alias = req.room_alias_name !== undefined ? validateAliasLocalpart(req.room_alias_name, hs.config.serverName) : undefined;
  for (const s of req.initial_state ?? []) {
    if (s.type === 'm.room.create' || s.type === 'm.room.member' || s.type === 'm.room.power_levels') {
      throw badJson(`initial_state cannot contain ${s.type}; use creation_content, invite or power_level_content_override.`);
    }
  }
  // What the server writes from the client's choices (trusted below) has the policy's shapes too.
  if (req.creation_content) checkCreationContent(req.creation_content);
  const createContent = createContentOf(version, creator, req, preset, invitees);
  // is_direct marks the invites only (spec: "the m.room.member events sent to the users in invite").
  const creatorJoin = await memberContent(tx, creator, 'join');
  const inviteContents = await Promise.all(invitees.map((u) => memberContent(tx, u, 'invite', req.is_direct ? { is_direct: true } : {})));

  // Two identical creations by one user in the same millisecond would hash to one v12 room id: the later one takes
  // the next millisecond for its create event.
  let identity = newRoomIdentity(hs.config.serverName, version, creator, createContent);
  while (!(await roomsDb.insertNewRoom(tx, { roomId: identity.roomId, roomVersion: version.id, creator }))) {
    identity = newRoomIdentity(hs.config.serverName, version, creator, createContent, (identity.derived?.originServerTs ?? Date.now()) + 1);
  }
  const { roomId, derived } = identity;
  const room = newOpenRoom(tx, roomId, version.id);
  const trusted = (d: EventDraft) => appendEvent(hs, room, creator, d, { trusted: true });
  const fromClient = (d: EventDraft) => appendEvent(hs, room, creator, d);

  const create = await appendEvent(hs, room, creator, { type: 'm.room.create', state_key: '', content: createContent }, { trusted: true, derived });
  await trusted({ type: 'm.room.member', state_key: creator, content: creatorJoin });
  let powerLevels = opts.powerLevels ?? { ...defaultPowerLevels(version, creator, preset, invitees), ...(req.power_level_content_override ?? {}) };
  if (!opts.powerLevels) checkStateEvent(hs.config, 'm.room.power_levels', powerLevels, undefined);
  if (version.infiniteCreators) powerLevels = withoutCreators(powerLevels, creatorsOf(version, creator, createContent));
  await trusted({ type: 'm.room.power_levels', state_key: '', content: powerLevels });
  if (alias) {
    if (!(await roomsDb.insertAlias(tx, { alias, roomId, creator }))) throw roomInUse(`The alias ${alias} is already in use.`);
    await trusted({ type: 'm.room.canonical_alias', state_key: '', content: { alias } });
  }
  const initial = req.initial_state ?? [];
  // Spec: initial_state takes precedence over the preset: a preset event it replaces is not sent at all (Element's
  // DMs set m.room.guest_access, which made two of them).
  const inInitial = (type: string) => initial.some((s) => s.type === type && (s.state_key ?? '') === '');
  for (const d of presetState(preset)) if (!inInitial(d.type)) await trusted(d);
  for (const s of initial) await fromClient({ type: s.type, state_key: s.state_key ?? '', content: s.content });
  for (const d of opts.serverState ?? []) await trusted(d);
  const sets = (type: string) => [...initial, ...(opts.serverState ?? [])].some((s) => s.type === type && (s.state_key ?? '') === '');
  if (!sets('m.room.encryption')) await trusted({ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } });
  if (req.name !== undefined) await fromClient({ type: 'm.room.name', state_key: '', content: { name: req.name } });
  if (req.topic !== undefined) await fromClient({ type: 'm.room.topic', state_key: '', content: { topic: req.topic } });
  for (const [i, u] of invitees.entries()) await trusted({ type: 'm.room.member', state_key: u, content: inviteContents[i] });
  // visibility "public" lists the room in the published room directory, in the same transaction.
  if (req.visibility === 'public') await insertPublishedRoom(tx, roomId);
  return { room_id: roomId, ...(alias ? { room_alias: alias } : {}), version, createEventId: create.eventId, room };
}
