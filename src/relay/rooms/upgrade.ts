/**
 * Room upgrades (spec: POST /rooms/{roomId}/upgrade and "Room Upgrades", server behaviour): a new room of the
 * requested version replaces the old one, in one transaction that holds the old room's lock, so that two upgrades
 * of one room cannot both succeed. The steps, in the spec's order:
 *
 * 1. The sender must be allowed to send m.room.tombstone in the old room (its authorization rules decide); a room
 *    that already has a tombstone is not upgraded again (400 M_BAD_STATE: upgrade its replacement).
 * 2. The new room's m.room.create has `predecessor` (the old room and its last event), the old room's `type` (and
 *    `m.federate`), and for versions with additional creators the ones the request names.
 * 3. The state that carries over (the spec's list, plus m.room.retention, the bans, and a space's children): power
 *    levels (creators of a v12 room removed from `users`; old v12 creators given the room's top level in an older
 *    version), join rules, history visibility, guest access, encryption, name, topic, avatar, server ACL. No other
 *    member events: members join the new room themselves.
 * 4. The old room's local aliases point to the new room; the canonical alias moves with them; a published room is
 *    published in its place.
 * 5. The tombstone in the old room names the new one.
 * 6. The old room's power levels are raised so that no one without power talks or invites there any more
 *    (events_default and invite at least max(50, users_default + 1)), when the sender may change them.
 * 7. After commit, the sender's tags and direct-chat listing follow them to the new room, as they follow anyone who
 *    joins it (upgrade-settings.ts).
 *
 * Every event goes through the write path and the authorization rules; the server composes them (trusted: the
 * encrypted-only policy does not apply, as for createRoom's own events).
 */
import type { Hs, TxHs } from '../../hs.js';
import { MatrixError, badState, unsupportedRoomVersion } from '../../errors.js';
import { transaction } from '../../db/database.js';
import * as roomsDb from '../../db/rooms.js';
import * as directoryDb from '../../db/directory.js';
import { MEGOLM } from '../policy.js';
import { appendEvent, currentStateOf, newOpenRoom, openRoom, roomStateView, type EventDraft, type OpenRoom } from './append.js';
import { checkEventAuth } from './auth-rules.js';
import { memberContent, newRoomIdentity } from './create-room.js';
import { actionPowerLevel, integerLevels, requiredPowerLevel, userPowerLevel } from './power-levels.js';
import { roomCreators, stateFromEvents } from './room-state.js';
import { SERVED_ROOM_VERSIONS, roomVersionOf, servedRoomVersion, type RoomVersion } from './room-versions.js';
import { carrySettingsAfterJoin } from './upgrade-settings.js';

export interface UpgradeRequest {
  new_version: string;
  additional_creators?: string[];
}

/** What the tombstone says; clients show their own text and follow `replacement_room`. */
const TOMBSTONE_BODY = 'This room has been replaced';

/** State (with an empty state key) that carries over, in the order it is sent; power levels go first. */
const CARRIED_STATE = [
  'm.room.join_rules',
  'm.room.history_visibility',
  'm.room.guest_access',
  'm.room.encryption',
  'm.room.name',
  'm.room.topic',
  'm.room.avatar',
  'm.room.server_acl',
  'm.room.retention',
];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `sender` may send `draft` in `room` now (the check appendEvent would make), without sending it. */
async function allowed(room: OpenRoom, sender: string, draft: EventDraft): Promise<boolean> {
  try {
    await checkEventAuth(room.roomVersion, { type: draft.type, state_key: draft.state_key, sender, content: draft.content }, roomStateView(room));
    return true;
  } catch (err) {
    if (err instanceof MatrixError) return false;
    throw err;
  }
}

/** The old room's state events that carry over, as drafts in the order they are sent (power levels apart). */
function carriedState(old: OpenRoom): EventDraft[] {
  const drafts: EventDraft[] = [];
  for (const type of CARRIED_STATE) {
    const row = currentStateOf(old, type);
    if (row) drafts.push({ type, state_key: '', content: row.content });
  }
  if (!drafts.some((d) => d.type === 'm.room.encryption')) drafts.push({ type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM } });
  const rows = [...old.state.values()];
  // A space's children stay its children (Synapse does the same); the links are the space's own state.
  if (currentStateOf(old, 'm.room.create')?.content.type === 'm.space') {
    for (const r of rows) if (r.type === 'm.space.child' && isObject(r.content) && Object.keys(r.content).length > 0) drafts.push({ type: r.type, state_key: r.stateKey!, content: r.content });
  }
  // Bans carry over, so that an upgrade is no way back in for the banned (the ban is the sender's, not an impersonation).
  for (const r of rows) {
    if (r.type === 'm.room.member' && r.content.membership === 'ban') {
      const content: Json = { membership: 'ban' };
      if (typeof r.content.reason === 'string') content.reason = r.content.reason;
      drafts.push({ type: 'm.room.member', state_key: r.stateKey!, content });
    }
  }
  return drafts;
}

/** The highest level in a power levels content: what old v12 creators get in a version without infinite creators. */
function topLevel(pl: Json): number {
  const levels: number[] = [100];
  for (const v of Object.values(pl)) if (typeof v === 'number') levels.push(v);
  for (const key of ['users', 'events', 'notifications']) if (isObject(pl[key])) for (const v of Object.values(pl[key])) if (typeof v === 'number') levels.push(v);
  return Math.max(...levels);
}

/** The new room's power levels: the old room's, with creators handled as the two versions need. */
function carriedPowerLevels(old: OpenRoom, oldCreators: string[], newCreators: string[], infiniteNew: boolean): Json | undefined {
  const row = currentStateOf(old, 'm.room.power_levels');
  if (!row) return undefined;
  // Stringy levels of versions before 10 become the integers they stand for: every version takes those.
  const pl: Json = integerLevels(roomVersionOf(old.roomVersion), structuredClone(row.content));
  const users: Json = isObject(pl.users) ? { ...pl.users } : {};
  if (roomVersionOf(old.roomVersion).infiniteCreators && !infiniteNew) {
    const top = topLevel(pl);
    for (const c of oldCreators) users[c] = top;
  }
  // v12+: creators cannot be listed in users (their level is infinite).
  if (infiniteNew) for (const c of newCreators) delete users[c];
  pl.users = users;
  return pl;
}

/** The sender's level under `pl` in the new room, and the level every carried event needs. */
function levelsUnder(pl: Json, sender: string, drafts: EventDraft[]): { own: number; needed: number } {
  const state = stateFromEvents([{ type: 'm.room.power_levels', state_key: '', sender, content: pl }]);
  const needs = [requiredPowerLevel(state, 'm.room.power_levels', true), requiredPowerLevel(state, 'm.room.canonical_alias', true)];
  for (const d of drafts) needs.push(d.type === 'm.room.member' ? actionPowerLevel(state, 'ban') : requiredPowerLevel(state, d.type, true));
  return { own: userPowerLevel(state, sender), needed: Math.max(...needs) };
}

/** The canonical alias content without the given aliases (a changed copy, or undefined when nothing changes). */
function withoutAliases(content: Json, gone: Set<string>): Json | undefined {
  const alt = Array.isArray(content.alt_aliases) ? content.alt_aliases : [];
  const out: Json = { ...content };
  let changed = false;
  if (typeof content.alias === 'string' && gone.has(content.alias)) {
    delete out.alias;
    changed = true;
  }
  const keptAlt = alt.filter((a) => !(typeof a === 'string' && gone.has(a)));
  if (keptAlt.length !== alt.length) {
    out.alt_aliases = keptAlt;
    changed = true;
  }
  return changed ? out : undefined;
}

/** The canonical alias content for the new room: the aliases that moved with it. */
function movedAliases(content: Json, moved: Set<string>): Json | undefined {
  const out: Json = {};
  if (typeof content.alias === 'string' && moved.has(content.alias)) out.alias = content.alias;
  const alt = Array.isArray(content.alt_aliases) ? content.alt_aliases.filter((a): a is string => typeof a === 'string' && moved.has(a)) : [];
  if (alt.length > 0) out.alt_aliases = alt;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The replacement room's m.room.create content: predecessor (the old room and its last event), the old room's `type`
 * and `m.federate`, the creator where the version names one, and for versions with additional creators the ones the
 * request names.
 */
function replacementCreateContent(old: OpenRoom, target: RoomVersion, sender: string, req: UpgradeRequest): Json {
  const oldCreate = currentStateOf(old, 'm.room.create');
  const predecessor: Json = { room_id: old.roomId };
  if (old.lastEventId !== null) predecessor.event_id = old.lastEventId;
  const createContent: Json = { room_version: target.id, predecessor };
  if (typeof oldCreate?.content.type === 'string') createContent.type = oldCreate.content.type;
  if (typeof oldCreate?.content['m.federate'] === 'boolean') createContent['m.federate'] = oldCreate.content['m.federate'];
  if (target.creatorInContent) createContent.creator = sender;
  const additional = target.infiniteCreators ? [...new Set(req.additional_creators ?? [])].filter((u) => u !== sender) : [];
  if (additional.length > 0) createContent.additional_creators = additional;
  return createContent;
}

/** The events of the upgrade itself, in the transaction that holds the old room's lock. */
async function upgradeLocked(
  hs: TxHs,
  old: OpenRoom,
  created: OpenRoom,
  sender: string,
  req: UpgradeRequest,
  joinContent: Json,
  createContent: Json,
  derived: { eventId: string; originServerTs: number } | undefined,
): Promise<void> {
  const tx = old.tx;
  const target = roomVersionOf(created.roomVersion);
  const tombstone: EventDraft = { type: 'm.room.tombstone', state_key: '', content: { body: TOMBSTONE_BODY, replacement_room: created.roomId } };
  // 1. The sender's power in the old room (403 otherwise), before anything else is read or said about the room.
  await checkEventAuth(old.roomVersion, { ...tombstone, sender }, roomStateView(old));
  const existing = currentStateOf(old, 'm.room.tombstone');
  if (existing && typeof existing.content.replacement_room === 'string') {
    throw badState(`This room has already been replaced by ${existing.content.replacement_room}; upgrade that room instead.`);
  }

  // 2. The replacement room (its create content was composed before its id, which in v12+ is that event's hash).
  const oldCreators = roomCreators(roomStateView(old));
  await roomsDb.insertRoom(tx, { roomId: created.roomId, roomVersion: target.id, creator: sender });
  const additional = target.infiniteCreators ? [...new Set(req.additional_creators ?? [])].filter((u) => u !== sender) : [];
  const trusted = (room: OpenRoom, d: EventDraft) => appendEvent(hs, room, sender, d, { trusted: true });
  await appendEvent(hs, created, sender, { type: 'm.room.create', state_key: '', content: createContent }, { trusted: true, derived });
  await trusted(created, { type: 'm.room.member', state_key: sender, content: joinContent });

  // 3. The state that carries over. When the sender's own level would not let them send all of it, they get the
  // level it needs first, and the room's real power levels come last (as Synapse does).
  const drafts = carriedState(old);
  const pl = carriedPowerLevels(old, oldCreators, [sender, ...additional], target.infiniteCreators);
  let finalPl: Json | undefined;
  if (pl) {
    const { own, needed } = levelsUnder(pl, sender, drafts);
    if (!target.infiniteCreators && own < needed) {
      await trusted(created, { type: 'm.room.power_levels', state_key: '', content: { ...pl, users: { ...(pl.users as Json), [sender]: needed } } });
      finalPl = pl;
    } else {
      await trusted(created, { type: 'm.room.power_levels', state_key: '', content: pl });
    }
  }
  for (const d of drafts) if (await allowed(created, sender, d)) await trusted(created, d);

  // 4. Aliases: the local ones point to the new room; the canonical alias follows them.
  const moved = new Set(await roomsDb.moveAliases(tx, old.roomId, created.roomId));
  const oldCanonical = currentStateOf(old, 'm.room.canonical_alias')?.content;
  const newCanonical = oldCanonical && movedAliases(oldCanonical, moved);
  if (newCanonical) await trusted(created, { type: 'm.room.canonical_alias', state_key: '', content: newCanonical });
  if (finalPl) await trusted(created, { type: 'm.room.power_levels', state_key: '', content: finalPl });
  const oldWithout = oldCanonical && withoutAliases(oldCanonical, moved);
  if (oldWithout) {
    const draft: EventDraft = { type: 'm.room.canonical_alias', state_key: '', content: oldWithout };
    if (await allowed(old, sender, draft)) await trusted(old, draft);
  }
  if (await directoryDb.selectIsPublished(tx, old.roomId)) {
    await directoryDb.insertPublishedRoom(tx, created.roomId);
    await directoryDb.deletePublishedRoom(tx, old.roomId);
  }

  // 5. The tombstone.
  await trusted(old, tombstone);

  // 6. No one without power talks or invites in the old room any more.
  const oldPl = currentStateOf(old, 'm.room.power_levels')?.content;
  if (oldPl) {
    const usersDefault = typeof oldPl.users_default === 'number' ? oldPl.users_default : 0;
    const restricted = Math.max(50, usersDefault + 1);
    const current = (key: string, fallback: number) => (typeof oldPl[key] === 'number' ? (oldPl[key] as number) : fallback);
    if (current('events_default', 0) < restricted || current('invite', 0) < restricted) {
      const draft: EventDraft = {
        type: 'm.room.power_levels', state_key: '',
        content: { ...oldPl, events_default: Math.max(current('events_default', 0), restricted), invite: Math.max(current('invite', 0), restricted) },
      };
      if (await allowed(old, sender, draft)) await trusted(old, draft);
    }
  }
}

/**
 * POST /rooms/{roomId}/upgrade. An unsupported version is refused first (400 M_UNSUPPORTED_ROOM_VERSION), an
 * unknown room is 404, a sender without the power to send m.room.tombstone there (or not joined) 403.
 */
export async function upgradeRoom(hs: Hs, sender: string, roomId: string, req: UpgradeRequest): Promise<{ replacement_room: string }> {
  const target = servedRoomVersion(req.new_version);
  if (!target) {
    throw unsupportedRoomVersion(`Room version ${req.new_version} is not supported; use one of ${Object.keys(SERVED_ROOM_VERSIONS).join(', ')}.`);
  }
  const joinContent = await memberContent(hs.sql, sender, 'join');
  let replacement = '';
  let rooms: OpenRoom[] = [];
  await transaction(hs.sql, async (tx) => {
    const { room: old } = await openRoom(hs, tx, roomId);
    const createContent = replacementCreateContent(old, target, sender, req);
    const identity = newRoomIdentity(hs.config.serverName, target, sender, createContent);
    replacement = identity.roomId;
    const created = newOpenRoom(tx, replacement, target.id);
    rooms = [old, created];
    await upgradeLocked(hs, old, created, sender, req, joinContent, createContent, identity.derived);
  });
  // Only now, after COMMIT: both rooms' states are remembered and their long-polls woken (as writeRoom does).
  for (const room of rooms) {
    if (room.lastEventId === null) hs.roomStates.forget(room.roomId);
    else hs.roomStates.remember(room.roomId, room.lastEventId, room.state);
    room.wakes.send(hs.notifier);
  }
  // The sender's own tags and direct-chat listing follow, as for anyone who joins the new room.
  await carrySettingsAfterJoin(hs, sender, roomId, replacement);
  return { replacement_room: replacement };
}
