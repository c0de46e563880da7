/**
 * Room summaries for the directory and the space hierarchy (the spec's PublishedRoomsChunk / RoomSummary), read
 * from current state, and who may see a room's summary: members, invitees, and anyone when the room is joinable
 * (public, knockable, restricted with a room the user is in) or world-readable.
 */
import type { Db } from '../../db/database.js';
import * as directoryDb from '../../db/directory.js';
import type { SummaryStateRow } from '../../db/directory.js';
import { MEGOLM } from '../policy.js';

const SUMMARY_TYPES = [
  'm.room.create', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.join_rules',
  'm.room.history_visibility', 'm.room.guest_access', 'm.room.encryption',
];

/** PublishedRoomsChunk plus RoomSummary's extras. Optional keys are absent, never null. */
export interface RoomChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  join_rule?: string;
  room_type?: string;
}

export interface SpaceChild {
  roomId: string;
  order?: string;
  suggested: boolean;
  /** As children_state wants it: stripped state plus origin_server_ts. */
  event: { type: string; state_key: string; sender: string; content: Record<string, unknown>; origin_server_ts: number };
}

export interface SummarizedRoom {
  chunk: RoomChunk;
  roomVersion: string;
  encryption?: string;
  /** Rooms whose members may join (restricted and knock_restricted join rules). */
  allowedRoomIds: string[];
  /** The canonical alias's alt_aliases, for searching. */
  altAliases: string[];
  children: SpaceChild[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The plain-text topic: the text/plain m.topic representation, else the `topic` string. */
function plainTopic(content: Record<string, unknown> | undefined): string | undefined {
  if (!content) return undefined;
  const reps = isObject(content['m.topic']) ? content['m.topic']['m.text'] : undefined;
  if (Array.isArray(reps)) {
    for (const r of reps) {
      if (isObject(r) && typeof r.body === 'string' && (r.mimetype === undefined || r.mimetype === 'text/plain')) return r.body;
    }
  }
  return typeof content.topic === 'string' ? content.topic : undefined;
}

/** A valid m.space.child link: `via` a non-empty list of strings; `order` of printable ASCII, at most 50. */
function childOf(row: SummaryStateRow): SpaceChild | undefined {
  const via = row.content.via;
  if (!Array.isArray(via) || via.length === 0 || !via.every((v) => typeof v === 'string')) return undefined;
  const order = typeof row.content.order === 'string' && /^[\x20-\x7E]{1,50}$/.test(row.content.order) ? row.content.order : undefined;
  return {
    roomId: row.stateKey,
    ...(order !== undefined ? { order } : {}),
    suggested: row.content.suggested === true,
    event: { type: row.type, state_key: row.stateKey, sender: row.sender, content: row.content, origin_server_ts: Number(row.originServerTs) },
  };
}

/** Spec ordering of space children: by `order` (those without one last), then the event's timestamp, then room id. */
function compareChildren(a: SpaceChild, b: SpaceChild): number {
  if (a.order !== b.order) {
    if (a.order === undefined) return 1;
    if (b.order === undefined) return -1;
    return a.order < b.order ? -1 : 1;
  }
  if (a.event.origin_server_ts !== b.event.origin_server_ts) return a.event.origin_server_ts - b.event.origin_server_ts;
  return a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0;
}

/** Summaries of those of the given rooms that exist here. */
export async function summarizeRooms(db: Db, roomIds: string[]): Promise<Map<string, SummarizedRoom>> {
  const versions = await directoryDb.selectRoomVersions(db, roomIds);
  const ids = [...versions.keys()];
  const [rows, counts] = await Promise.all([directoryDb.selectSummaryState(db, ids, SUMMARY_TYPES), directoryDb.selectJoinedCounts(db, ids)]);
  const byRoom = new Map<string, SummaryStateRow[]>();
  for (const r of rows) byRoom.set(r.roomId, [...(byRoom.get(r.roomId) ?? []), r]);
  const out = new Map<string, SummarizedRoom>();
  for (const roomId of ids) {
    const state = byRoom.get(roomId) ?? [];
    const content = (type: string) => state.find((r) => r.type === type && r.stateKey === '')?.content;
    const joinRules = content('m.room.join_rules');
    const chunk: RoomChunk = {
      room_id: roomId,
      num_joined_members: counts.get(roomId) ?? 0,
      world_readable: content('m.room.history_visibility')?.history_visibility === 'world_readable',
      guest_can_join: content('m.room.guest_access')?.guest_access === 'can_join',
    };
    const name = str(content('m.room.name')?.name);
    const topic = plainTopic(content('m.room.topic'));
    const alias = str(content('m.room.canonical_alias')?.alias);
    const avatar = str(content('m.room.avatar')?.url);
    const joinRule = str(joinRules?.join_rule);
    const roomType = str(content('m.room.create')?.type);
    if (name !== undefined) chunk.name = name;
    if (topic !== undefined) chunk.topic = topic;
    if (alias?.startsWith('#')) chunk.canonical_alias = alias;
    if (avatar?.startsWith('mxc://')) chunk.avatar_url = avatar;
    if (joinRule !== undefined) chunk.join_rule = joinRule;
    if (roomType !== undefined) chunk.room_type = roomType;
    const allow = joinRule === 'restricted' || joinRule === 'knock_restricted' ? joinRules?.allow : undefined;
    const altAliases = content('m.room.canonical_alias')?.alt_aliases;
    out.set(roomId, {
      chunk,
      roomVersion: versions.get(roomId)!,
      ...(content('m.room.encryption')?.algorithm === MEGOLM ? { encryption: MEGOLM } : {}),
      allowedRoomIds: Array.isArray(allow)
        ? allow.filter((c): c is Record<string, unknown> => isObject(c) && c.type === 'm.room_membership' && typeof c.room_id === 'string').map((c) => c.room_id as string)
        : [],
      altAliases: Array.isArray(altAliases) ? altAliases.filter((a): a is string => typeof a === 'string') : [],
      children: state.filter((r) => r.type === 'm.space.child').map(childOf).filter((c): c is SpaceChild => c !== undefined).sort(compareChildren),
    });
  }
  return out;
}

/**
 * Whether the user may see the room's summary (space_hierarchy.yaml): joined or invited; the room world-readable;
 * or joinable by them (public, knock, or restricted by a room they are joined to). A banned user sees only
 * world-readable rooms.
 */
export function canSeeSummary(room: SummarizedRoom, memberships: Map<string, string>): boolean {
  const membership = memberships.get(room.chunk.room_id);
  if (membership === 'join' || membership === 'invite' || room.chunk.world_readable) return true;
  if (membership === 'ban') return false;
  const rule = room.chunk.join_rule;
  if (rule === 'public' || rule === 'knock' || rule === 'knock_restricted') return true;
  return rule === 'restricted' && room.allowedRoomIds.some((id) => memberships.get(id) === 'join');
}
