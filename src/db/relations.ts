/**
 * Event relationships: one row per event with a clear m.relates_to, for /relations, /threads and bundled
 * aggregations. Reads take the stream watermark as an upper bound, like every read of room events.
 */
import type { Db } from './database.js';
import type { EventRow } from './events.js';

export interface RelationRow {
  eventId: string;
  roomId: string;
  relatesToId: string;
  relType: string;
  type: string;
  sender: string;
  streamPos: number;
}

/** A relation with what visibility and aggregation need of the child event (not its content). */
export interface RelationChild extends RelationRow {
  stateKey: string | null;
  originServerTs: number;
}

/**
 * `streamPos` 'just-taken': the position the transaction's previous statement took (currval), so that the row can
 * be sent in the same round trip as the statement that inserts its event.
 */
export async function insertRelation(db: Db, r: Omit<RelationRow, 'streamPos'> & { streamPos: number | 'just-taken' }): Promise<void> {
  await db`
    INSERT INTO event_relations (event_id, room_id, relates_to_id, rel_type, type, sender, stream_pos)
    VALUES (${r.eventId}, ${r.roomId}, ${r.relatesToId}, ${r.relType}, ${r.type}, ${r.sender},
            ${r.streamPos === 'just-taken' ? db`currval('stream_positions')` : r.streamPos})
    ON CONFLICT (event_id) DO NOTHING`;
}

export async function deleteRelation(db: Db, eventId: string): Promise<void> {
  await db`DELETE FROM event_relations WHERE event_id = ${eventId}`;
}

export interface RelatedQuery {
  roomId: string;
  parentId: string;
  relType?: string;
  eventType?: string;
  /** 1: direct children only; n: children up to n relationships away. */
  depth: number;
  /** Stream positions: lower < pos <= upper. */
  lower: number;
  upper: number;
  dir: 'b' | 'f';
  limit: number;
}

/**
 * Events relating to a parent (directly, or through up to `depth` relationships), with the rel_type and event
 * type filters applied to every returned event; newest first for dir=b, oldest first for dir=f.
 */
export async function selectRelatedEvents(db: Db, q: RelatedQuery): Promise<EventRow[]> {
  const order = q.dir === 'b' ? db`DESC` : db`ASC`;
  return db<EventRow[]>`
    WITH RECURSIVE related (event_id, depth) AS (
      SELECT event_id, 1 FROM event_relations WHERE relates_to_id = ${q.parentId} AND room_id = ${q.roomId}
      UNION
      SELECT r.event_id, related.depth + 1 FROM event_relations r JOIN related ON r.relates_to_id = related.event_id
      WHERE related.depth < ${q.depth} AND r.room_id = ${q.roomId}
    )
    SELECT e.* FROM events e
    JOIN event_relations r ON r.event_id = e.event_id
    WHERE e.event_id IN (SELECT event_id FROM related)
      AND e.stream_pos > ${q.lower} AND e.stream_pos <= ${q.upper}
      ${q.relType !== undefined ? db`AND r.rel_type = ${q.relType}` : db``}
      ${q.eventType !== undefined ? db`AND r.type = ${q.eventType}` : db``}
    ORDER BY e.stream_pos ${order}
    LIMIT ${q.limit}`;
}

/** The children of these parents with the given relation types, up to a position, oldest first. */
export async function selectRelationChildren(db: Db, parentIds: string[], relTypes: string[], upTo: number): Promise<RelationChild[]> {
  if (parentIds.length === 0 || relTypes.length === 0) return [];
  return db<RelationChild[]>`
    SELECT r.*, e.state_key, e.origin_server_ts FROM event_relations r JOIN events e ON e.event_id = r.event_id
    WHERE r.relates_to_id = ANY(${parentIds}) AND r.rel_type = ANY(${relTypes}) AND r.stream_pos <= ${upTo}
    ORDER BY r.stream_pos`;
}

export interface ThreadRootRow {
  rootId: string;
  /** The position of the thread's latest event. */
  latestPos: number;
}

/**
 * Thread roots of a room (events with m.thread children in that room), ordered by their latest thread event, newest
 * first, among threads whose latest event is at or below `before`. `participant`: only threads that user
 * started or replied in.
 */
export async function selectThreadRoots(
  db: Db,
  q: { roomId: string; before: number; upTo: number; limit: number; participant?: string },
): Promise<ThreadRootRow[]> {
  return db<ThreadRootRow[]>`
    SELECT r.relates_to_id AS root_id, max(r.stream_pos) AS latest_pos
    FROM event_relations r JOIN events root ON root.event_id = r.relates_to_id AND root.room_id = r.room_id
    WHERE r.room_id = ${q.roomId} AND r.rel_type = 'm.thread' AND r.stream_pos <= ${q.upTo}
    GROUP BY r.relates_to_id, root.sender
    HAVING max(r.stream_pos) <= ${q.before}
      ${q.participant !== undefined ? db`AND (root.sender = ${q.participant} OR bool_or(r.sender = ${q.participant}))` : db``}
    ORDER BY latest_pos DESC
    LIMIT ${q.limit}`;
}
