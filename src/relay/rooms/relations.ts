/**
 * Event relationships: indexing the clear m.relates_to of appended events, /relations, /threads and the bundled
 * aggregations (unsigned.m.relations). Only what the requester may see under history visibility is counted or shown;
 * /relations and /threads leave out the message events of users the requester ignores (relay/ignored-users.ts).
 */
import type { Hs } from '../../hs.js';
import type { Db, Tx } from '../../db/database.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow } from '../../db/events.js';
import * as relationsDb from '../../db/relations.js';
import type { RelationChild } from '../../db/relations.js';
import { selectStreamHead } from '../../db/stream.js';
import { isEventId } from '../../lib/identifiers.js';
import { clientEvent, type ClientEvent } from './events.js';
import { visibilityFor, type VisibilityView } from './visibility.js';
import { readableUpTo, visibleEvent } from './access.js';
import { parseStreamToken, streamToken } from '../sync/token.js';
import { ignoringOf } from '../ignored-users.js';

/** The relation an event's clear content declares, if any. m.in_reply_to alone (a rich reply) is not a relation. */
export function relationOf(content: Record<string, unknown>): { relType: string; eventId: string } | undefined {
  const rel = content['m.relates_to'];
  if (rel === null || typeof rel !== 'object' || Array.isArray(rel)) return undefined;
  const { rel_type: relType, event_id: eventId } = rel as Record<string, unknown>;
  if (typeof relType !== 'string' || relType.length === 0 || relType.length > 255) return undefined;
  if (!isEventId(eventId)) return undefined;
  return { relType, eventId };
}

/**
 * The write path records an event's relation in the statement right after the one that took the event's position
 * (so both go out in one round trip), and forgets the relation of an event it redacts (a redacted relation no
 * longer counts: its m.relates_to is gone with the rest of its content).
 */
export async function indexRelationAtPositionJustTaken(tx: Tx, row: EventRow): Promise<void> {
  const rel = relationOf(row.content);
  if (!rel) return;
  await relationsDb.insertRelation(tx, {
    eventId: row.eventId, roomId: row.roomId, relatesToId: rel.eventId, relType: rel.relType, type: row.type, sender: row.sender, streamPos: 'just-taken',
  });
}

export async function unindexRelation(tx: Tx, redacted: EventRow): Promise<void> {
  await relationsDb.deleteRelation(tx, redacted.eventId);
}

/** Visibility needs only an event's position, type and state key; relation rows carry those without the content. */
function probe(c: RelationChild): EventRow {
  return { streamPos: c.streamPos, type: c.type, stateKey: c.stateKey } as EventRow;
}

/** Homeservers SHOULD traverse at least 3 levels (spec: recurse). */
export const RECURSION_DEPTH = 3;
const MAX_LIMIT = 100;
const SCAN_BATCH = 200;

export interface RelationsRequest {
  relType?: string;
  eventType?: string;
  from?: string;
  to?: string;
  limit: number;
  dir: 'b' | 'f';
  recurse?: boolean;
}

/** GET /relations/{eventId}[/{relType}[/{eventType}]]: a page of the visible children, newest first by default. */
export async function getRelatingEvents(hs: Hs, userId: string, roomId: string, eventId: string, req: RelationsRequest) {
  const head = await selectStreamHead(hs.sql);
  const [{ view }, ignoring] = await Promise.all([visibleEvent(hs, userId, roomId, eventId, head), ignoringOf(hs.sql, userId)]);
  const limit = Math.min(req.limit, MAX_LIMIT);
  const from = req.from !== undefined ? Math.min(parseStreamToken(req.from, 'from'), head) : req.dir === 'b' ? head : 0;
  const to = req.to !== undefined ? Math.min(parseStreamToken(req.to, 'to'), head) : undefined;
  const depth = req.recurse ? RECURSION_DEPTH : 1;
  const chunk: EventRow[] = [];
  let cursor = from;
  let more = true;
  while (chunk.length < limit && more) {
    const [lower, upper] = req.dir === 'b' ? [to ?? 0, cursor] : [cursor, to ?? head];
    if (lower >= upper) {
      more = false;
      break;
    }
    const batch = await relationsDb.selectRelatedEvents(hs.sql, {
      roomId, parentId: eventId, relType: req.relType, eventType: req.eventType, depth, lower, upper, dir: req.dir, limit: SCAN_BATCH,
    });
    if (batch.length < SCAN_BATCH) more = false;
    for (const e of batch) {
      cursor = req.dir === 'b' ? e.streamPos - 1 : e.streamPos;
      if (view.canSee(e) && !ignoring.hides(e)) chunk.push(e);
      if (chunk.length >= limit) {
        // More may follow unless this was the batch's last row of the final batch.
        more = more || e !== batch.at(-1);
        break;
      }
    }
  }
  const events = await bundleAggregations(hs, userId, chunk.map((r) => clientEvent(r)));
  return {
    chunk: events,
    ...(more ? { next_batch: streamToken(cursor) } : {}),
    ...(req.from !== undefined ? { prev_batch: req.from } : {}),
    ...(req.recurse !== undefined ? { recursion_depth: depth } : {}),
  };
}

/** GET /threads: the room's visible thread roots, by their latest thread event, newest first. */
export async function getThreadRoots(hs: Hs, userId: string, roomId: string, req: { include: 'all' | 'participated'; from?: string; limit: number }) {
  const head = await selectStreamHead(hs.sql);
  const [{ upTo, view }, ignoring] = await Promise.all([readableUpTo(hs, userId, roomId, head), ignoringOf(hs.sql, userId)]);
  const limit = Math.min(req.limit, MAX_LIMIT);
  let before = req.from !== undefined ? Math.min(parseStreamToken(req.from, 'from'), upTo) : upTo;
  const roots: EventRow[] = [];
  let more = true;
  while (roots.length < limit && more) {
    const batch = await relationsDb.selectThreadRoots(hs.sql, {
      roomId, before, upTo, limit: SCAN_BATCH, participant: req.include === 'participated' ? userId : undefined,
    });
    if (batch.length < SCAN_BATCH) more = false;
    const rows = new Map((await eventsDb.selectEventsByIds(hs.sql, batch.map((b) => b.rootId))).map((r) => [r.eventId, r]));
    for (const b of batch) {
      before = b.latestPos - 1;
      const root = rows.get(b.rootId);
      if (root && root.streamPos <= upTo && view.canSee(root) && !ignoring.hides(root)) roots.push(root);
      if (roots.length >= limit) {
        more = more || b !== batch.at(-1);
        break;
      }
    }
  }
  const chunk = await bundleAggregations(hs, userId, roots.map((r) => clientEvent(r)));
  return { chunk, ...(more ? { next_batch: streamToken(before) } : {}) };
}

const BUNDLED = ['m.thread', 'm.replace', 'm.reference'];

/** The most recent edit first: by origin_server_ts, then the lexicographically largest event id (spec). */
const newerEditFirst = (a: RelationChild, b: RelationChild) =>
  b.originServerTs - a.originServerTs || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);

/** Spec "Validity of replacement events", as far as the server can see (m.new_content is inside the ciphertext). */
function validEdit(parent: ClientEvent, edit: RelationChild): boolean {
  return (
    edit.sender === parent.sender &&
    edit.type === parent.type &&
    edit.stateKey === null &&
    parent.state_key === undefined &&
    relationOf(parent.content)?.relType !== 'm.replace'
  );
}

/**
 * Adds unsigned['m.relations'] (spec: "Aggregations of child events") to each event that has visible children:
 * m.thread {latest_event, count, current_user_participated}, m.replace (the most recent valid edit, as a client
 * event; never on a redacted event) and m.reference {chunk: [{event_id}]}. Changes the events in place and returns
 * them. Used by /messages, /event, /context, /relations and /threads; /sync should call it on its timelines.
 * `upTo` bounds the children read (a sync passes its watermark); by default the current stream head.
 */
export async function bundleAggregations(hs: Hs, userId: string, events: ClientEvent[], upTo?: number): Promise<ClientEvent[]> {
  if (events.length === 0) return events;
  return bundle(hs, userId, events, upTo ?? (await selectStreamHead(hs.sql)), 0);
}

async function bundle(hs: Hs, userId: string, events: ClientEvent[], head: number, depth: number): Promise<ClientEvent[]> {
  if (events.length === 0) return events;
  const db: Db = hs.sql;
  const children = await relationsDb.selectRelationChildren(db, [...new Set(events.map((e) => e.event_id))], BUNDLED, head);
  if (children.length === 0) return events;
  const views = new Map<string, VisibilityView>();
  for (const roomId of new Set(children.map((c) => c.roomId))) views.set(roomId, await visibilityFor(db, roomId, userId, head));
  const byParent = new Map<string, RelationChild[]>();
  for (const c of children) {
    if (!views.get(c.roomId)!.canSee(probe(c))) continue;
    const list = byParent.get(c.relatesToId) ?? [];
    list.push(c);
    byParent.set(c.relatesToId, list);
  }

  // Decide per parent which full events are needed (latest thread event, latest edit), then load them at once.
  interface Plan { event: ClientEvent; thread?: RelationChild[]; edits: RelationChild[]; refs: RelationChild[] }
  const plans: Plan[] = [];
  for (const event of events) {
    const kids = (byParent.get(event.event_id) ?? []).filter((c) => c.roomId === event.room_id);
    if (kids.length === 0) continue;
    const thread = kids.filter((c) => c.relType === 'm.thread');
    const redacted = event.unsigned.redacted_because !== undefined;
    const edits = redacted ? [] : kids.filter((c) => c.relType === 'm.replace' && validEdit(event, c)).sort(newerEditFirst);
    plans.push({ event, thread: thread.length > 0 ? thread : undefined, edits, refs: kids.filter((c) => c.relType === 'm.reference') });
  }
  const wanted = new Set<string>();
  for (const p of plans) {
    if (p.thread) wanted.add(p.thread.at(-1)!.eventId);
    // Plaintext edits (conformance mode only) must carry m.new_content; encrypted ones carry it inside the ciphertext.
    for (const e of p.event.type === 'm.room.encrypted' ? p.edits.slice(0, 1) : p.edits) wanted.add(e.eventId);
  }
  const rows = new Map((await eventsDb.selectEventsByIds(db, [...wanted])).map((r) => [r.eventId, r]));
  const latestThreadEvents: ClientEvent[] = [];
  for (const p of plans) {
    const relations: Record<string, unknown> = {};
    if (p.thread) {
      const latest = rows.get(p.thread.at(-1)!.eventId);
      if (latest) {
        const latestEvent = clientEvent(latest);
        latestThreadEvents.push(latestEvent);
        relations['m.thread'] = {
          latest_event: latestEvent,
          count: p.thread.length,
          current_user_participated: p.event.sender === userId || p.thread.some((c) => c.sender === userId),
        };
      }
    }
    const edit = p.edits.map((e) => rows.get(e.eventId)).find((r) => r && (r.type === 'm.room.encrypted' || isObject(r.content['m.new_content'])));
    if (edit) relations['m.replace'] = clientEvent(edit);
    if (p.refs.length > 0) relations['m.reference'] = { chunk: p.refs.map((c) => ({ event_id: c.eventId })) };
    if (Object.keys(relations).length > 0) {
      const existing = isObject(p.event.unsigned['m.relations']) ? p.event.unsigned['m.relations'] : {};
      p.event.unsigned = { ...p.event.unsigned, 'm.relations': { ...existing, ...relations } };
    }
  }
  // The latest thread event is aggregated too (e.g. its edits); threads do not nest, so one level is enough.
  if (depth === 0) await bundle(hs, userId, latestThreadEvents, head, depth + 1);
  return events;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
