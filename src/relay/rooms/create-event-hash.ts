/**
 * The reference hash of a room's m.room.create event, which names a room of version 12 and later: the room id is
 * `!` + the hash and the create event's id is `$` + the same hash (spec: room version 12, "Event format"; S-S API
 * "Calculating the reference hash for an event"). This server does not federate and signs nothing, but these ids must
 * still be what the spec derives from the event, so the hash is computed over the event's federation form (the PDU:
 * no room_id, no prev_events or auth_events, depth 1, the content hash), redacted, without signatures, as canonical
 * JSON. Other events keep random ids in their version's format (events.ts): nothing could check them.
 */
import { createHash } from 'node:crypto';
import anotherJson from 'another-json';
import { redactedContent } from './events.js';
import type { RoomVersion } from './room-versions.js';

export interface CreateEventFields {
  sender: string;
  content: Record<string, unknown>;
  originServerTs: number;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const unpadded = (b: Buffer, encoding: 'base64' | 'base64url') => b.toString(encoding).replace(/=+$/, '');

/** The m.room.create PDU of a v12+ room, with its content hash, before signing (signatures are not hashed). */
export function createEventPdu(e: CreateEventFields): Record<string, unknown> {
  const pdu: Record<string, unknown> = {
    auth_events: [],
    content: e.content,
    depth: 1,
    origin_server_ts: e.originServerTs,
    prev_events: [],
    sender: e.sender,
    state_key: '',
    type: 'm.room.create',
  };
  // Content hash: the event without unsigned, signatures and hashes, standard unpadded base64 (S-S "Content hashes").
  pdu.hashes = { sha256: unpadded(sha256(anotherJson.stringify(pdu)), 'base64') };
  return pdu;
}

/**
 * The reference hash in url-safe unpadded base64 (event ids from v4): sha256 of the canonical JSON of the redacted
 * PDU. The redaction algorithm keeps every top-level key the PDU has, and (v11+) the whole create content.
 */
export function createEventReferenceHash(version: RoomVersion, e: CreateEventFields): string {
  const pdu = createEventPdu(e);
  const redacted = { ...pdu, content: redactedContent(version.id, 'm.room.create', e.content) };
  return unpadded(sha256(anotherJson.stringify(redacted)), 'base64url');
}
