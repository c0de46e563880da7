/**
 * The unstable wire shape of simplified sliding sync (MSC4186 as Element X, the Rust SDK and matrix-js-sdk speak it
 * at /_matrix/client/unstable/org.matrix.simplified_msc3575/sync, and as Synapse serves it): the request body's zod
 * schema and its translation into an EngineRequest, and the EngineResult's translation into the response body.
 * `required_state` is a list of [type, state_key] pairs, lists have `ranges`, invites carry `invite_state`.
 */
import { z } from 'zod';
import { extensionsRequestSchema } from './extensions/index.js';
import type { EngineRequest, EngineResult, ListParams, Pos, RoomConfig } from './types.js';

const MAX_LISTS = 100;
const statePair = z.tuple([z.string().max(255), z.string().max(255)]);
const requiredState = z.array(statePair).max(1000);
const timelineLimit = z.number().int().min(0).max(1000);
const roomTypes = z.array(z.string().max(255).nullable()).max(100);

const filtersSchema = z
  .object({
    is_dm: z.boolean().optional(),
    spaces: z.array(z.string().max(255)).max(100).optional(),
    is_encrypted: z.boolean().optional(),
    is_invite: z.boolean().optional(),
    room_types: roomTypes.optional(),
    not_room_types: roomTypes.optional(),
    tags: z.array(z.string().max(255)).max(100).optional(),
    not_tags: z.array(z.string().max(255)).max(100).optional(),
  })
  .passthrough();

const listSchema = z
  .object({
    ranges: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).max(100).optional(),
    timeline_limit: timelineLimit.optional(),
    required_state: requiredState.optional(),
    filters: filtersSchema.optional(),
    slow_get_all_rooms: z.boolean().optional(),
  })
  .passthrough();

const subscriptionSchema = z.object({ timeline_limit: timelineLimit.optional(), required_state: requiredState.optional() }).passthrough();

export const unstableBodySchema = z
  .object({
    conn_id: z.string().max(255).optional(),
    lists: z.record(z.string().min(1).max(64), listSchema).refine((l) => Object.keys(l).length <= MAX_LISTS, `At most ${MAX_LISTS} lists.`).optional(),
    room_subscriptions: z.record(z.string().max(255), subscriptionSchema).refine((s) => Object.keys(s).length <= 500, 'At most 500 room subscriptions.').optional(),
    unsubscribe_rooms: z.array(z.string().max(255)).max(500).optional(),
    extensions: extensionsRequestSchema.optional(),
    txn_id: z.string().max(255).optional(),
  })
  .passthrough();

export type UnstableBody = z.infer<typeof unstableBodySchema>;

function roomConfig(c: { timeline_limit?: number; required_state?: [string, string][] }): Partial<RoomConfig> {
  const out: Partial<RoomConfig> = {};
  if (c.timeline_limit !== undefined) out.timelineLimit = c.timeline_limit;
  if (c.required_state !== undefined) out.requiredState = c.required_state;
  return out;
}

export function unstableRequest(body: UnstableBody, pos: Pos | undefined, timeoutMs: number, setPresence?: EngineRequest['setPresence']): EngineRequest {
  const lists =
    body.lists &&
    Object.fromEntries(
      Object.entries(body.lists).map(([name, l]): [string, Partial<ListParams>] => {
        const f = l.filters;
        const list: Partial<ListParams> = {
          ...roomConfig(l),
          ranges: l.slow_get_all_rooms ? undefined : (l.ranges ?? []).filter(([a, b]) => a <= b) as [number, number][],
        };
        if (f) {
          list.filters = {
            isDm: f.is_dm, spaces: f.spaces, isEncrypted: f.is_encrypted, isInvite: f.is_invite, roomTypes: f.room_types, notRoomTypes: f.not_room_types, tags: f.tags, notTags: f.not_tags,
          };
          for (const k of Object.keys(list.filters) as (keyof typeof list.filters)[]) if (list.filters[k] === undefined) delete list.filters[k];
        }
        return [name, list];
      }),
    );
  return {
    connId: body.conn_id ?? '',
    pos,
    timeoutMs,
    setPresence,
    lists,
    subscriptions: body.room_subscriptions && Object.fromEntries(Object.entries(body.room_subscriptions).map(([r, s]) => [r, roomConfig(s)])),
    unsubscribe: body.unsubscribe_rooms ?? [],
    extensions: body.extensions,
  };
}

/** The response body: fields that did not change (or are not set) are left out, as Synapse does. */
export function unstableResponse(r: EngineResult, txnId?: string): Record<string, unknown> {
  const rooms: Record<string, Record<string, unknown>> = {};
  for (const [roomId, room] of Object.entries(r.rooms)) {
    const out: Record<string, unknown> = { notification_count: room.notificationCount, highlight_count: room.highlightCount };
    if (room.bumpStamp !== undefined) out.bump_stamp = room.bumpStamp;
    if (room.joinedCount !== undefined) out.joined_count = room.joinedCount;
    if (room.invitedCount !== undefined) out.invited_count = room.invitedCount;
    if (room.name !== undefined) out.name = room.name;
    if (room.avatar !== undefined) out.avatar = room.avatar;
    if (room.heroes && room.heroes.length > 0) {
      out.heroes = room.heroes.map((h) => ({ user_id: h.userId, ...(h.displayName !== undefined ? { displayname: h.displayName } : {}), ...(h.avatarUrl !== undefined ? { avatar_url: h.avatarUrl } : {}) }));
    }
    if (room.initial) out.initial = true;
    if (room.expandedTimeline) out.unstable_expanded_timeline = true;
    if (room.requiredState && room.requiredState.length > 0) out.required_state = room.requiredState;
    if (room.timeline && room.timeline.length > 0) out.timeline = room.timeline;
    if (room.limited !== undefined) out.limited = room.limited;
    if (room.prevBatch !== undefined) out.prev_batch = room.prevBatch;
    if (room.numLive !== undefined) out.num_live = room.numLive;
    if (room.isDm) out.is_dm = true;
    if (room.inviteState && room.inviteState.length > 0) out.invite_state = room.inviteState;
    rooms[roomId] = out;
  }
  return { pos: r.pos, ...(txnId !== undefined ? { txn_id: txnId } : {}), lists: r.lists, rooms, extensions: r.extensions };
}
