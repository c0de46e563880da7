/**
 * Room creation (spec: POST /createRoom): the create event, the creator's join, power levels, preset state,
 * initial_state, name and topic, and invites, in one transaction. Every room is encrypted with Megolm, whether or
 * not the client asked.
 */
import type { Hs } from '../../hs.js';
import { badJson, notFound, roomInUse, unsupportedRoomVersion } from '../../errors.js';
import * as roomsDb from '../../db/rooms.js';
import { selectUser } from '../../db/users.js';
import { MEGOLM } from '../policy.js';
import { DEFAULT_ROOM_VERSION, SERVED_ROOM_VERSIONS, servedRoomVersion } from './room-versions.js';
import { appendEvent, newOpenRoom, type EventDraft } from './append.js';
import { WakeBatch } from '../wakes.js';
import { newRoomId } from './events.js';
import { validateAliasLocalpart } from './aliases.js';
import { transaction, type Db } from '../../db/database.js';
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

/** The member event content for a user: membership plus their profile's display name and avatar (read from `db`). */
export async function memberContent(db: Db, userId: string, membership: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const profile = (await selectUser(db, userId))?.profile ?? {};
  const content: Record<string, unknown> = { membership, ...extra };
  if (membership === 'join' || membership === 'invite' || membership === 'knock') {
    if (typeof profile.displayname === 'string') content.displayname = profile.displayname;
    if (typeof profile.avatar_url === 'string') content.avatar_url = profile.avatar_url;
  }
  return content;
}

function defaultPowerLevels(creator: string, preset: Preset, invitees: string[]): Record<string, unknown> {
  const users: Record<string, number> = { [creator]: 100 };
  // trusted_private_chat: "all invitees are given the same power level as the room creator".
  if (preset === 'trusted_private_chat') for (const u of invitees) users[u] = 100;
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
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

function presetState(preset: Preset): EventDraft[] {
  const joinRule = preset === 'public_chat' ? 'public' : 'invite';
  return [
    { type: 'm.room.join_rules', state_key: '', content: { join_rule: joinRule } },
    { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
    { type: 'm.room.guest_access', state_key: '', content: { guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join' } },
  ];
}

export async function createRoom(hs: Hs, creator: string, req: CreateRoomRequest): Promise<{ room_id: string; room_alias?: string }> {
  const roomVersion = req.room_version ?? DEFAULT_ROOM_VERSION;
  const version = servedRoomVersion(roomVersion);
  if (!version) {
    throw unsupportedRoomVersion(`Room version ${roomVersion} is not supported; use one of ${Object.keys(SERVED_ROOM_VERSIONS).join(', ')}.`);
  }
  const preset: Preset = req.preset ?? (req.visibility === 'public' ? 'public_chat' : 'private_chat');
  const invitees = [...new Set(req.invite ?? [])];
  for (const u of invitees) {
    if (!(await selectUser(hs.sql, u))) throw notFound(`Cannot invite ${u}: no such user.`);
  }
  const alias = req.room_alias_name !== undefined ? validateAliasLocalpart(req.room_alias_name, hs.config.serverName) : undefined;
  for (const s of req.initial_state ?? []) {
    if (s.type === 'm.room.create' || s.type === 'm.room.member' || s.type === 'm.room.power_levels') {
      throw badJson(`initial_state cannot contain ${s.type}; use creation_content, invite or power_level_content_override.`);
    }
  }
  const roomId = newRoomId(hs.config.serverName);
  // is_direct marks the invites only (spec: "the m.room.member events sent to the users in invite").
  const creatorJoin = await memberContent(hs.sql, creator, 'join');
  const inviteContents = await Promise.all(invitees.map((u) => memberContent(hs.sql, u, 'invite', req.is_direct ? { is_direct: true } : {})));

  let wakes = new WakeBatch();
  await transaction(hs.sql, async (tx) => {
    await roomsDb.insertRoom(tx, { roomId, roomVersion, creator });
    const room = newOpenRoom(tx, roomId, roomVersion);
    const trusted = (d: EventDraft) => appendEvent(hs, room, creator, d, { trusted: true });
    const fromClient = (d: EventDraft) => appendEvent(hs, room, creator, d);

    const createContent: Record<string, unknown> = { ...(req.creation_content ?? {}), room_version: roomVersion };
    if (version.creatorInContent) createContent.creator = creator;
    else delete createContent.creator;
    await trusted({ type: 'm.room.create', state_key: '', content: createContent });
    await trusted({ type: 'm.room.member', state_key: creator, content: creatorJoin });
    await trusted({
      type: 'm.room.power_levels', state_key: '',
      content: { ...defaultPowerLevels(creator, preset, invitees), ...(req.power_level_content_override ?? {}) },
    });
    if (alias) {
      if (!(await roomsDb.insertAlias(tx, { alias, roomId, creator }))) throw roomInUse(`The alias ${alias} is already in use.`);
      await trusted({ type: 'm.room.canonical_alias', state_key: '', content: { alias } });
    }
    for (const d of presetState(preset)) await trusted(d);
    const initial = req.initial_state ?? [];
    for (const s of initial) await fromClient({ type: s.type, state_key: s.state_key ?? '', content: s.content });
    if (!initial.some((s) => s.type === 'm.room.encryption' && (s.state_key ?? '') === '')) {
      await trusted({ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } });
    }
    if (req.name !== undefined) await fromClient({ type: 'm.room.name', state_key: '', content: { name: req.name } });
    if (req.topic !== undefined) await fromClient({ type: 'm.room.topic', state_key: '', content: { topic: req.topic } });
    for (const [i, u] of invitees.entries()) await trusted({ type: 'm.room.member', state_key: u, content: inviteContents[i] });
    // visibility "public" lists the room in the published room directory, in the same transaction.
    if (req.visibility === 'public') await insertPublishedRoom(tx, roomId);
    wakes = room.wakes;
  });
  wakes.send(hs.notifier);
  return alias ? { room_id: roomId, room_alias: alias } : { room_id: roomId };
}
