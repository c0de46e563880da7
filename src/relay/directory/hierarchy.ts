/**
 * GET /rooms/{roomId}/hierarchy: a depth-first walk of a space's m.space.child links, children in the spec's order.
 * Rooms the user may not see, and rooms unknown here (no federation), are left out, and nothing below them is walked.
 */
import type { Hs } from '../../hs.js';
import { forbidden, invalidParam } from '../../errors.js';
import { checkRoomId } from './room-ids.js';
import { canSeeSummary, summarizeRooms, type SummarizedRoom } from './summary.js';
import { membershipsOf } from '../rooms/access.js';

export interface HierarchyRequest {
  from?: string;
  limit?: number;
  max_depth?: number;
  suggested_only: boolean;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;
const MAX_DEPTH = 10;
/** The walk stops after this many rooms: one request's work is bounded. */
const MAX_ROOMS = 1000;

interface Cursor {
  root: string;
  depth: number;
  suggested: boolean;
  offset: number;
}

/** Tokens carry the walk's parameters, so a changed max_depth or suggested_only is recognised. */
function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.root, c.depth, c.suggested ? 1 : 0, c.offset])).toString('base64url');
}

function decodeToken(token: string): Cursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || v.length !== 4 || typeof v[0] !== 'string' || !Number.isSafeInteger(v[1]) || (v[2] !== 0 && v[2] !== 1) || !Number.isSafeInteger(v[3]) || v[3] < 0) {
    throw invalidParam('Unknown pagination token (from).');
  }
  return { root: v[0], depth: v[1], suggested: v[2] === 1, offset: v[3] };
}

function entryOf(room: SummarizedRoom) {
  const isSpace = room.chunk.room_type === 'm.space';
  return {
    ...room.chunk,
    room_version: room.roomVersion,
    ...(room.encryption !== undefined ? { encryption: room.encryption } : {}),
    ...(room.allowedRoomIds.length > 0 ? { allowed_room_ids: room.allowedRoomIds } : {}),
    children_state: isSpace ? room.children.map((c) => c.event) : [],
  };
}

export async function getSpaceHierarchy(hs: Hs, userId: string, roomId: string, req: HierarchyRequest) {
  checkRoomId(roomId);
  const maxDepth = Math.min(req.max_depth ?? MAX_DEPTH, MAX_DEPTH);
  const limit = Math.min(req.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  let offset = 0;
  if (req.from !== undefined) {
    const cursor = decodeToken(req.from);
    if (cursor.root !== roomId) throw invalidParam('The pagination token (from) belongs to another room.');
    if (cursor.depth !== maxDepth || cursor.suggested !== req.suggested_only) throw invalidParam('suggested_only and max_depth cannot change on paginated requests.');
    offset = cursor.offset;
  }
  const memberships = await membershipsOf(hs.sql, userId);
  const root = (await summarizeRooms(hs.sql, [roomId])).get(roomId);
  if (!root || !canSeeSummary(root, memberships)) throw forbidden('You are not allowed to view this room.');

  // Depth-first, preorder; a room is visited once however many spaces link it. Rooms are summarised a level at a time.
  const ordered: SummarizedRoom[] = [];
  const seen = new Set([roomId]);
  const walk = async (room: SummarizedRoom, depth: number): Promise<void> => {
    if (ordered.length >= MAX_ROOMS) return;
    ordered.push(room);
    if (room.chunk.room_type !== 'm.space' || depth >= maxDepth) return;
    const links = room.children.filter((c) => (!req.suggested_only || c.suggested) && !seen.has(c.roomId));
    for (const c of links) seen.add(c.roomId);
    const children = await summarizeRooms(hs.sql, links.map((c) => c.roomId));
    for (const c of links) {
      const child = children.get(c.roomId);
      if (child && canSeeSummary(child, memberships)) await walk(child, depth + 1);
    }
  };
  await walk(root, 0);

  const page = ordered.slice(offset, offset + limit);
  const next = offset + limit < ordered.length ? encodeToken({ root: roomId, depth: maxDepth, suggested: req.suggested_only, offset: offset + limit }) : undefined;
  return { rooms: page.map(entryOf), ...(next !== undefined ? { next_batch: next } : {}) };
}
